"""A small Django project the runtime's tests run against: a fixture, not a template.

Its values are a default bake's (three queues, Redis databases 0, 1 and 2, task tracking
and results on, a scheduler), written as literals.
"""
