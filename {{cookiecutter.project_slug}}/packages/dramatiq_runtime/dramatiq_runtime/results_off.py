"""The results backend when results are off (``use_results``): stores nothing, says so.

With no result backend, django_dramatiq installs no ``Results`` middleware, and an actor
declared with ``store_results`` fails at import ("unknown option"): a library's actor, or
one of the project's kept from a time with results on, would stop the worker. With this
one the middleware is always there: storing costs nothing, and reading a result raises
``ResultsOff``, naming the switch, instead of waiting for a result that never comes.
"""

from dramatiq.results import ResultBackend, ResultError


class ResultsOff(ResultError):
    """A result was asked for while results are off."""


class NoResults(ResultBackend):
    def _store(self, message_key, result, ttl) -> None:
        pass

    def _get(self, message_key):
        raise ResultsOff(
            "results are off (use_results; TASKS_USE_RESULTS=true turns them on): "
            "no result is kept to read"
        )
