"""This project's background tasks: its actors, ``@task`` functions and chores."""
