"""Which AWS session the handler's clients come from.

The Provider and crhelper functions run with their own role in boto3's default
session. A registry resource type's handler has no credentials of its own:
CloudFormation hands it the execution role's in each request, so that entry
point makes every client of the request from that session (``using``).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

import boto3

_SESSION: contextvars.ContextVar[boto3.Session | None] = contextvars.ContextVar("trail_import_session", default=None)


def client(service: str, **kwargs: Any) -> Any:
    """A client of ``service`` from the current request's session, else from boto3's default session."""
    session = _SESSION.get()
    if session is None:
        return boto3.client(service, **kwargs)  # type: ignore[call-overload]
    return session.client(service, **kwargs)  # type: ignore[call-overload]


@contextlib.contextmanager
def using(session: boto3.Session) -> Iterator[None]:
    """Make every client created inside come from ``session``."""
    token = _SESSION.set(session)
    try:
        yield
    finally:
        _SESSION.reset(token)
