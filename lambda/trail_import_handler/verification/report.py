"""What a verification found: counts, problems and notices, each naming its S3 key, account and region."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Each kind of problem, with what it means and what to do: the sentence the report gives.
MEANINGS = {
    "digest-missing": "A digest that its successor names is not in the bucket: it was deleted or moved. Restore it "
                      "from a backup or a versioned copy before you import, or the hours it covered stay unproven.",
    "digest-invalid": "The digest cannot be trusted: {detail}. Someone changed or replaced it; restore the original "
                      "before you import.",
    "digest-link": "The digest no longer matches what its successor recorded of it ({detail}): it was changed after "
                   "CloudTrail wrote it. Restore the original.",
    "hours-not-covered": "No digest accounts for {detail}: digests were deleted, or CloudTrail has not delivered "
                         "them yet. Restore them, or verify again later.",
    "no-digests": "No digest lies under {detail}: log file validation was off for this account and region, so its "
                  "logs cannot be proven. Turn validation on for the trail; earlier logs stay unproven.",
    "log-missing": "A log file a digest names is not in the bucket: it was deleted or moved. Restore it, or the "
                   "import will lack its events.",
    "log-invalid": "The log file is not what CloudTrail wrote: {detail}. Restore the original before you import.",
    "log-not-covered": "No digest names this log file: it was added afterwards, or CloudTrail delivered it while log "
                       "file validation was off. Find out which before you import it as part of the record.",
    "chain-restart": "The digest chain starts afresh here ({detail}): logging or log file validation was off before "
                     "it and turned on here. Logs delivered while it was off were never digested.",
}


@dataclass(frozen=True)
class Finding:
    """One problem or notice."""

    kind: str
    key: str | None
    account: str
    region: str
    detail: str = ""

    @property
    def message(self) -> str:
        return MEANINGS[self.kind].format(detail=self.detail)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "account": self.account, "region": self.region,
                "message": self.message}


@dataclass
class Tally:
    """How many objects of one sort were checked, and how they were."""

    valid: int = 0
    invalid: int = 0
    missing: int = 0
    not_covered: int = 0

    @property
    def checked(self) -> int:
        return self.valid + self.invalid + self.missing


@dataclass
class SliceSummary:
    """One account and region (the report's key for it)."""

    digests: Tally = field(default_factory=Tally)
    log_files: Tally = field(default_factory=Tally)
    events_in_window: int = 0


@dataclass
class Report:
    """The whole verification."""

    source: str
    start: datetime
    end: datetime
    deep: bool = True
    problems: list[Finding] = field(default_factory=list)
    notices: list[Finding] = field(default_factory=list)
    slices: dict[tuple[str, str], SliceSummary] = field(default_factory=dict)

    @property
    def intact(self) -> bool:
        return not self.problems

    def summary(self, account: str, region: str) -> SliceSummary:
        return self.slices.setdefault((account, region), SliceSummary())

    def total(self, attribute: str) -> Tally:
        tally = Tally()
        for summary in self.slices.values():
            part: Tally = getattr(summary, attribute)
            tally.valid += part.valid
            tally.invalid += part.invalid
            tally.missing += part.missing
            tally.not_covered += part.not_covered
        return tally

    @property
    def events_in_window(self) -> int:
        return sum(s.events_in_window for s in self.slices.values())

    def as_dict(self) -> dict[str, Any]:
        """The form ``verify --json`` prints (README, "Verifying an archive")."""
        digests, logs = self.total("digests"), self.total("log_files")
        return {
            "source": self.source,
            "window": {"start": _iso(self.start), "end": _iso(self.end)},
            "digests": {"checked": digests.checked, "valid": digests.valid, "invalid": digests.invalid,
                        "missing": digests.missing},
            "logFiles": {"checked": logs.checked, "valid": logs.valid, "invalid": logs.invalid,
                         "missing": logs.missing, "notCovered": logs.not_covered},
            "eventsInWindow": self.events_in_window if self.deep else None,
            "problems": [p.as_dict() for p in sorted(self.problems, key=_order)],
            "notices": [n.as_dict() for n in sorted(self.notices, key=_order)],
        }


def _order(finding: Finding) -> tuple[str, str, str, str]:
    return finding.account, finding.region, finding.key or "", finding.kind


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
