"""One import as the simulated service keeps it: its plan (how a run goes), its status and statistics over time."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta


@dataclass(frozen=True)
class ScriptedFailure:
    """One entry ListImportFailures will report. ``status``: one the model allows (FAILED, RETRY, SUCCEEDED);
    only FAILED entries count in FailedEntries and make the import end FAILED."""

    location: str
    """The object the failure names (its S3 location)."""
    error_type: str = "FileParseError"
    """ErrorType, as ListImportFailures reports it."""
    message: str = "The file is not a valid CloudTrail log file."
    """ErrorMessage, as ListImportFailures reports it."""
    status: str = "FAILED"
    """FAILED, RETRY or SUCCEEDED: what the model's ImportFailureStatus allows."""

    def __post_init__(self) -> None:
        allowed = _failure_statuses()
        if self.status not in allowed:
            raise ValueError(f"status: the model allows {', '.join(allowed)}; got {self.status!r}")


@functools.cache
def _failure_statuses() -> tuple[str, ...]:
    """ImportFailureListItem.Status as botocore's service model gives it."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("cloudtrail")
    return tuple(model.shape_for("ImportFailureStatus").enum)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ImportPlan:
    """How one run of an import goes: how long it takes, what it finds, what fails."""

    duration: timedelta = timedelta(minutes=10)
    """How long the run takes from StartImport to its end, initialization included."""
    initializing: timedelta = timedelta(minutes=1)
    """How long the import is INITIALIZING before it is IN_PROGRESS."""
    prefixes: int = 12
    """PrefixesFound once the import is past INITIALIZING; PrefixesCompleted grows to it as the run goes."""
    files: int = 240
    """FilesCompleted at the end of the run."""
    events: int = 48_000
    """EventsCompleted at the end of the run."""
    failures: tuple[ScriptedFailure, ...] = ()
    """What ListImportFailures reports; any FAILED entry ends the import FAILED."""
    retry: ImportPlan | None = None
    """The plan of the run a retry (StartImport with the ImportId) starts; None: a clean run."""

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.initializing <= self.duration:
            raise ValueError(f"an import initializes within its run: initializing {self.initializing} "
                             f"is not within duration {self.duration}")

    def retried(self) -> ImportPlan:
        """The plan of the run a retry starts: ``retry`` if scripted, else a clean run."""
        return self.retry if self.retry is not None else replace(self, failures=())


def failures(count: int, *, bucket: str = "trail-logs", message_size: int = 60) -> tuple[ScriptedFailure, ...]:
    """``count`` distinct failures on realistic trail log keys."""
    return tuple(
        ScriptedFailure(
            location=f"s3://{bucket}/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/{i % 28 + 1:02d}/"
            f"111122223333_CloudTrail_us-east-1_20240101T{i % 24:02d}00Z_{i:016d}.json.gz",
            message=("Unexpected token in JSON record. " * (message_size // 30 + 1))[:message_size],
        )
        for i in range(count)
    )


@dataclass
class SimulatedImport:
    """One import as the service keeps it."""

    import_id: str
    destinations: list[str]
    source: dict[str, str]
    start_event_time: datetime | None
    end_event_time: datetime | None
    created: datetime
    plan: ImportPlan
    run_started: datetime
    stop_requested: datetime | None = None
    stop_seconds: float = 10.0
    extra_updates: list[datetime] = field(default_factory=list)
    resumed_from: float = 0.0
    """The share of the source a STOPPED run had copied when a retry resumed it."""

    def status(self, now: datetime) -> str:
        if self.stop_requested is not None and now >= self._stopped_at():
            return "STOPPED"
        elapsed = now - self.run_started
        if elapsed < self.plan.initializing:
            return "INITIALIZING"
        if elapsed < self._run_length():
            return "IN_PROGRESS"
        return "FAILED" if self._failed() else "COMPLETED"

    def updated(self, now: datetime) -> datetime:
        """When the status last changed, as UpdatedTimestamp reports it."""
        marks = [self.created, self.run_started, self.run_started + self.plan.initializing,
                 self.run_started + self._run_length(), *self.extra_updates]
        if self.stop_requested is not None:
            # A stopped run changes no more: the marks its plan had after the stop never happen.
            marks = [m for m in marks if m <= self._stopped_at()] + [self._stopped_at()]
        return max(m for m in marks if m <= now)

    def fraction(self, now: datetime) -> float:
        until = min(now, self._stopped_at()) if self.stop_requested is not None else now
        running = self._run_length() - self.plan.initializing
        done = (until - self.run_started - self.plan.initializing) / running if running else 1.0
        this_run = max(0.0, min(1.0, done))
        return self.resumed_from + (1.0 - self.resumed_from) * this_run

    def statistics(self, now: datetime) -> dict[str, int]:
        f = self.fraction(now)
        found = self.plan.prefixes if self.status(now) != "INITIALIZING" else 0
        return {
            "PrefixesFound": found,
            "PrefixesCompleted": int(self.plan.prefixes * f),
            "FilesCompleted": int(self.plan.files * f),
            "EventsCompleted": int(self.plan.events * f),
            "FailedEntries": int(len(self._failed()) * f),
        }

    def visible_failures(self, now: datetime) -> tuple[ScriptedFailure, ...]:
        return self.plan.failures[: int(len(self.plan.failures) * self.fraction(now))]

    def _failed(self) -> tuple[ScriptedFailure, ...]:
        return tuple(f for f in self.plan.failures if f.status == "FAILED")

    def _run_length(self) -> timedelta:
        """How long this run takes: a resumed run copies only what the stopped one left."""
        return self.plan.initializing + (self.plan.duration - self.plan.initializing) * (1.0 - self.resumed_from)

    def _stopped_at(self) -> datetime:
        assert self.stop_requested is not None
        return self.stop_requested + timedelta(seconds=self.stop_seconds)
