"""Stand-ins for what production must be given, for steps that check but serve nothing.

A template's hook validates production's answers with them, tests run
``check --deploy`` with them, and an image's ``collectstatic`` step runs under
``python -m dramatiq_runtime.config.stand_ins COMMAND ...``. The key is new
in every process, so a stand-in can never be a project's real, reused secret.
"""

import os
import secrets
import sys

PRODUCTION_STAND_INS = {
    "DJANGO_SECRET_KEY": f"stand-in-{secrets.token_urlsafe(48)}",
    "REDIS_URL": "redis://:stand-in@localhost:6379",
}

if __name__ == "__main__":
    os.execvpe(sys.argv[1], sys.argv[1:], {**os.environ, **PRODUCTION_STAND_INS})
