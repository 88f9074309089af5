"""The error answer of a simulated service."""

from __future__ import annotations


class ServiceError(Exception):
    """An error answer, with the code the service model defines; or, with ``page``, a web page that something
    between the caller and the service (a proxy, a load balancer) answered instead."""

    def __init__(self, code: str, message: str, status: int = 400, page: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        """The error code, one the service model defines (such as ThrottlingException)."""
        self.message = message
        """The error message."""
        self.status = status
        """The HTTP status of the answer."""
        self.page = page
        """The web page answered instead of an AWS error, if any."""
