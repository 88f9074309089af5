"""The error answer of a simulated service."""

from __future__ import annotations


class ServiceError(Exception):
    """An error answer, with the code the service model defines."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
