"""What the import copied, set beside what the deploy's verification proved of the same window.

AWS does not document how an import counts its files and events, so a difference is reported (as attributes),
never a failure, unless the resource asks for it (ReconcileStrictly), and then only for events: the verification
counts the log files its digests name, which at the window's edges include files dated just outside it, whose
events it does not count.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from .cloudtrail import ImportState
from .errors import ImportResourceError
from .properties import VerifiedCounts

WINDOWS = "verifications/windows/"
"""Where ArchiveVerification keeps, in its report bucket, the counts of the last verification of each whole window,
for ImportMonitor to set beside an import's when it ends."""


def whole_second(value: datetime) -> str:
    """The time in whole seconds UTC, as a verification takes it: a fraction rounds up, since an event's time is
    whole seconds, and an event at or after 00:00:00.5 is one at or after 00:00:01 (at or before, likewise)."""
    if value.microsecond:
        value = value.replace(microsecond=0) + timedelta(seconds=1)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_key(source: str, start: datetime | None, end: datetime | None) -> str | None:
    """The key of the counts of a verification of all of ``source`` over [start, end); None for an open window,
    which no verification proves."""
    if start is None or end is None:
        return None
    identity = f"{source.rstrip('/')}|{whole_second(start)}|{whole_second(end)}"
    return f"{WINDOWS}{hashlib.sha256(identity.encode()).hexdigest()}.json"


def beside(state: ImportState, proved: dict[str, object]) -> dict[str, object]:
    """What a verification kept of the import's window (``WINDOWS``), set beside what the import copied."""
    files, events = state.statistics["FilesCompleted"], state.statistics["EventsCompleted"]
    log_files, in_window = int(str(proved["logFilesVerified"])), int(str(proved["eventsInWindow"]))
    return {"logFilesVerified": log_files, "eventsVerified": in_window, "intact": bool(proved.get("intact")),
            "reportUri": proved.get("reportUri"), "filesDifference": files - log_files,
            "eventsDifference": events - in_window}


def attributes(state: ImportState, verified: VerifiedCounts) -> dict[str, str]:
    """The verified counts and the differences (the import's count less the verification's)."""
    files, events = state.statistics["FilesCompleted"], state.statistics["EventsCompleted"]
    return {"LogFilesVerified": str(verified.log_files), "EventsVerified": str(verified.events),
            "FilesDifference": str(files - verified.log_files), "EventsDifference": str(events - verified.events)}


def mismatch(state: ImportState, verified: VerifiedCounts) -> ImportResourceError | None:
    """The failure of a strict reconciliation whose events differ, or None."""
    events = state.statistics["EventsCompleted"]
    if not verified.strict or events == verified.events:
        return None
    return ImportResourceError(
        f"Import {state.import_id} {state.status} with {events} events, but the verification proved "
        f"{verified.events} events in the window ({events - verified.events:+d}); ReconcileStrictly is true. The "
        "events imported stay in the event data store: compare the verification's report with the store, then "
        "set ReconcileStrictly to false to accept the import as it is.",
        summary=f"Import {state.import_id}: {events} events imported, {verified.events} verified "
                "(ReconcileStrictly).", unsettled=True)
