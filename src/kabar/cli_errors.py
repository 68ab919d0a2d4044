"""What the ``kabar`` command says when it cannot go on: one clear line, never a traceback.

A server that is down (Redis, the search server), a setting with a typo, a file that cannot be
written: each becomes a line that names what failed and what to check. ``KABAR_LOG_LEVEL=DEBUG``
logs the traceback as well, for a bug report.
"""

from __future__ import annotations

import os
from typing import Any

import redis
from elastic_transport import ConnectionError as SearchConnectionError
from elastic_transport import TransportError
from kombu.exceptions import OperationalError
from pydantic import ValidationError

from kabar.contract.deadletter import describe
from kabar.service_api import redact_url


def one_line(exc: BaseException) -> str:
    """One line that says what failed and what to check."""
    if isinstance(exc, ValidationError):
        return settings_problem(exc)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError | OperationalError):
        return (f"cannot reach Redis at {_setting_url('KABAR_REDIS_URL', 'redis://127.0.0.1:6379/0')} "
                f"(KABAR_REDIS_URL): {_first_line(exc)}")
    if isinstance(exc, SearchConnectionError):
        return (f"cannot reach the search server at "
                f"{_setting_url('KABAR_ELASTICSEARCH_URL', 'http://127.0.0.1:9200')} (KABAR_ELASTICSEARCH_URL): "
                f"{_first_line(exc)}")
    if isinstance(exc, TransportError):
        return f"the search server failed: {_first_line(exc)}"
    return f"{describe(exc)} (KABAR_LOG_LEVEL=DEBUG shows the traceback)"


def settings_problem(exc: ValidationError) -> str:
    """``KABAR_MODE='service' is not valid: Input should be 'embedded' or 'services'`` (and how many more)."""
    problems = []
    for error in exc.errors():
        name = "KABAR_" + "_".join(str(part) for part in error["loc"]).upper()
        value: Any = error.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float) else ""
        problems.append(f"{name}{shown} is not valid: {error['msg']}")
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"setting {problems[0]}{more}" if problems else f"invalid settings: {_first_line(exc)}"


def _setting_url(name: str, default: str) -> str:
    return redact_url(os.environ.get(name, default))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:500]
