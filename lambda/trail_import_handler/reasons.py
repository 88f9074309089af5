"""Failure reasons that fit CloudFormation's 4 KB response and still say what failed where."""

from __future__ import annotations

from .cloudtrail import ImportFailure, ImportState
from .errors import ImportResourceError, shorten

# The Provider framework wraps our message with "Error: ", a "Logs:" line and a
# short Node.js stack, and the response also carries ids and Data: 2,500 bytes
# of our own leave room for all of that under 4,096.
MAX_REASON_BYTES = 2500
FAILURES_SHOWN = 25
_MAX_LINE = 300


def too_many_failures(
    state: ImportState, max_failed_entries: int, failures: list[ImportFailure]
) -> ImportResourceError:
    """The error for an import that ended FAILED with more failures than tolerated."""
    failed = state.statistics.get("FailedEntries", 0)
    head = (
        f"Import {state.import_id} ended FAILED with {failed} failed entries, more than "
        f"MaxFailedEntries ({max_failed_entries}); {state.statistics.get('EventsCompleted', 0)} events were imported."
    )
    tail = f"All failures: aws cloudtrail list-import-failures --import-id {state.import_id}"
    lines = [f"- {f.location}: {f.error_type}: {f.message}" for f in failures]
    message = _fit(head + " First failures:", [shorten(line, _MAX_LINE) for line in lines], tail)
    first = failures[0] if failures else None
    summary = f"Import {state.import_id} FAILED: {failed} failed entries > MaxFailedEntries {max_failed_entries}."
    if first:
        summary += f" First: {first.error_type} at {first.location}"
    return ImportResourceError(message, summary=summary, unsettled=True)


def stopped(state: ImportState) -> ImportResourceError:
    """The error for an import that was stopped while this resource waited for it."""
    return ImportResourceError(
        f"Import {state.import_id} was STOPPED outside this stack (StopImport) after "
        f"{state.statistics.get('EventsCompleted', 0)} events; the events imported so far stay in the event data "
        "store. Change RetryToken to retry it, or remove the resource.",
        summary=f"Import {state.import_id} was STOPPED outside this stack.",
        unsettled=True,
    )


def _fit(head: str, lines: list[str], tail: str) -> str:
    """``head``, as many whole ``lines`` as fit in MAX_REASON_BYTES, then a count of the rest and ``tail``."""
    budget = MAX_REASON_BYTES - _size(head) - _size(tail) - 40
    kept: list[str] = []
    for line in lines:
        if _size(line) + 1 > budget:
            break
        kept.append(line)
        budget -= _size(line) + 1
    rest = len(lines) - len(kept)
    parts = [head, *kept]
    if rest:
        parts.append(f"(+{rest} more not shown)")
    parts.append(tail)
    return "\n".join(parts)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
