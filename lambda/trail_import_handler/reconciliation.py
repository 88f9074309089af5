"""What the import copied, set beside what the deploy's verification proved of the same window.

AWS does not document how an import counts its files and events, so a difference is reported (as attributes),
never a failure, unless the resource asks for it (ReconcileStrictly), and then only for events: the verification
counts the log files its digests name, which at the window's edges include files dated just outside it, whose
events it does not count.
"""

from __future__ import annotations

from .cloudtrail import ImportState
from .errors import ImportResourceError
from .properties import VerifiedCounts


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
