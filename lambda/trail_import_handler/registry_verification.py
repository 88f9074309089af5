"""The registry type's own verification (``VerifyWith``): a Create proves its window on an ArchiveVerification
state machine before it begins the import, inside the same 36-hour wait, where a custom resource waits an hour.

What was proved is kept with the resource (``Verified``), for the import to be reconciled with when it ends. An
Update, which resumes an import, never verifies again; a new window is a new resource (its times are create-only),
which does. The execution is named after the resource: a Create delivered again finds the execution it started,
and a rollback's Delete can stop it without having been told its ARN.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import verification_resource
from .errors import ImportResourceError
from .properties import parse_properties
from .reconciliation import whole_second

VERIFY_WITH = "VerifyWith"
STRICT = "ReconcileStrictly"
ATTRIBUTES = ("DigestsVerified", "LogFilesVerified", "EventsVerified", "VerificationReportUri")
"""The resource's attributes of its verification."""


@dataclass(frozen=True)
class Requested:
    """A verification the resource asks for: which state machine, of which source, with which input."""

    state_machine_arn: str
    source: str
    request: dict[str, Any]


@dataclass(frozen=True)
class Verified:
    """What a finished verification proved of the window."""

    digests: int
    log_files: int
    events: int
    report_uri: str

    def attributes(self) -> dict[str, Any]:
        """The resource's attributes, as the schema types them; also how the record and the context keep them."""
        return {"DigestsVerified": self.digests, "LogFilesVerified": self.log_files, "EventsVerified": self.events,
                "VerificationReportUri": self.report_uri}

    @classmethod
    def from_attributes(cls, kept: Mapping[str, Any] | None) -> Verified | None:
        """The ``Verified`` that ``attributes()`` described; None for nothing kept."""
        if not kept:
            return None
        return cls(int(kept["DigestsVerified"]), int(kept["LogFilesVerified"]), int(kept["EventsVerified"]),
                   str(kept["VerificationReportUri"]))


def requested(properties: Mapping[str, Any]) -> Requested | None:
    """The verification ``properties`` ask for, or None; every property checked first, so that nothing runs for
    hours only to fail on a misspelt ARN."""
    machine = properties.get(VERIFY_WITH)
    if machine in (None, ""):
        if properties.get(STRICT) not in (None, ""):
            raise ImportResourceError(f"{STRICT}: give {VERIFY_WITH} too, the state machine of an "
                                      "ArchiveVerification of this source, whose counts the import is reconciled "
                                      "with.")
        return None
    if not verification_resource.is_state_machine_arn(machine):
        raise ImportResourceError(f"{VERIFY_WITH}: expected the ARN of an ArchiveVerification's state machine, such "
                                  "as arn:aws:states:us-east-1:111122223333:stateMachine:CloudTrailLakeVerification-"
                                  f"Example; got {str(machine)[:200]!r}.")
    # Checked with placeholder counts, so that ReconcileStrictly is checked as the import will take it.
    parsed = parse_properties(import_properties(properties, Verified(0, 0, 0, "")))
    window = {"StartEventTime": parsed.window.start, "EndEventTime": parsed.window.end}
    missing = [name for name, value in window.items() if value is None]
    if missing:
        raise ImportResourceError(f"{VERIFY_WITH}: give {' and '.join(missing)} too: a verification proves a "
                                  "window, from StartEventTime up to EndEventTime.")
    times = {name: whole_second(value) for name, value in window.items() if value is not None}
    assert isinstance(machine, str)
    return Requested(machine, parsed.source.uri.rstrip("/"),
                     {"start": times["StartEventTime"], "end": times["EndEventTime"], "accounts": [], "regions": []})


def import_properties(properties: Mapping[str, Any], verified: Verified | None) -> dict[str, Any]:
    """The properties as the import lifecycle takes them: with the verified counts once there are some."""
    given = {k: v for k, v in properties.items() if k != VERIFY_WITH}
    if verified is None:
        given.pop(STRICT, None)
        return given
    return {**given, "VerifiedLogFiles": verified.log_files, "VerifiedEvents": verified.events}


def execution_name(resource_id: str) -> str:
    """The execution that verifies the resource ``resource_id``."""
    return f"import-{resource_id}"


def start(sfn: Any, wanted: Requested, resource_id: str) -> str:
    """Start the resource's verification: the execution's ARN."""
    return verification_resource.start(sfn, wanted.state_machine_arn, execution_name(resource_id), wanted.request)


def check(sfn: Any, execution_arn: str, wanted: Requested) -> Verified | None:
    """What the verification proved once it has ended, or None while it runs; an archive that is not intact, or a
    run that failed or proved another source, raises."""
    outcome = verification_resource.check(sfn, execution_arn, source=wanted.source)
    if outcome.attributes is None:
        return None
    found = outcome.attributes
    return Verified(int(found["DigestsVerified"]), int(found["LogFilesVerified"]), int(found["EventsInWindow"]),
                    found["ReportUri"])


def stop(sfn: Any, properties: Mapping[str, Any], resource_id: str) -> None:
    """Stop the resource's verification if it still runs."""
    machine = properties.get(VERIFY_WITH)
    if isinstance(machine, str) and verification_resource.is_state_machine_arn(machine):
        verification_resource.stop(sfn, verification_resource.execution_arn(machine, execution_name(resource_id)))


def timed_out(execution_arn: str, since: datetime) -> ImportResourceError:
    """The failure of a Create whose verification outlasted the registry's wait."""
    return ImportResourceError(
        f"The verification {execution_arn}, running since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC, did not end "
        "within the registry's 36-hour limit; no import was started, and the rollback stops the verification. "
        "Verify a shorter window per resource, or give the ArchiveVerification a larger max_concurrency.",
        unsettled=True)  # no summary: only the registry type, which gives the whole reason, raises it
