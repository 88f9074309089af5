"""The one exception type that carries a message meant for the user."""

from __future__ import annotations


class ImportResourceError(Exception):
    """A failure the user must read: what went wrong, where, and what to do.

    ``summary`` is a short form (at most 240 characters) for callers that cut
    reasons short, such as crhelper; ``str(error)`` is the full message.
    """

    def __init__(self, message: str, summary: str | None = None, code: str = "", *, unsettled: bool = False) -> None:
        super().__init__(message)
        self.summary = shorten(summary or message, 240)
        self.code = code
        """The AWS error code behind the failure, if one was."""
        self.unsettled = unsettled
        """True when the request was valid but the import did not end as asked: it failed past the
        threshold, was stopped, vanished, or outlasted the wait."""


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters, saying that it was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 3] + "..."
