"""What a verification found: counts, problems and notices, each naming its S3 key, account and region."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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

    @classmethod
    def combined(cls, parts: Iterable[Report]) -> Report:
        """One report of the pieces of a window, each verified on its own (``verify``'s ``part``). A finding that
        two pieces made (a digest both read across their edge) is kept once, and a missing digest counted once."""
        pieces = list(parts)
        if not pieces:
            raise ValueError("there is no report to combine")
        whole = cls(pieces[0].source, min(p.start for p in pieces), max(p.end for p in pieces),
                    deep=all(p.deep for p in pieces))
        problems: dict[Finding, None] = {}
        notices: dict[Finding, None] = {}
        for piece in pieces:
            problems.update(dict.fromkeys(piece.problems))
            notices.update(dict.fromkeys(piece.notices))
            for where, part in piece.slices.items():
                mine = whole.summary(*where)
                for attribute in ("digests", "log_files"):
                    tally, more = getattr(mine, attribute), getattr(part, attribute)
                    tally.valid += more.valid
                    tally.invalid += more.invalid
                    tally.not_covered += more.not_covered
                mine.events_in_window += part.events_in_window
        whole.problems, whole.notices = list(problems), list(notices)
        for found in whole.problems:
            summary = whole.summary(found.account, found.region)
            if found.kind == "digest-missing":
                summary.digests.missing += 1
            elif found.kind == "log-missing":
                summary.log_files.missing += 1
        return whole

    def record(self) -> dict[str, Any]:
        """Everything the report holds, as JSON-ready data that ``from_record`` reads back."""
        def tally(t: Tally) -> dict[str, int]:
            return {"valid": t.valid, "invalid": t.invalid, "missing": t.missing, "notCovered": t.not_covered}

        def finding(f: Finding) -> dict[str, Any]:
            return {"kind": f.kind, "key": f.key, "account": f.account, "region": f.region, "detail": f.detail}

        return {"source": self.source, "start": _iso(self.start), "end": _iso(self.end), "deep": self.deep,
                "slices": [{"account": account, "region": region, "digests": tally(s.digests),
                            "logFiles": tally(s.log_files), "eventsInWindow": s.events_in_window}
                           for (account, region), s in sorted(self.slices.items())],
                "problems": [finding(p) for p in self.problems], "notices": [finding(n) for n in self.notices]}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Report:
        """The report ``record`` wrote."""
        def tally(t: dict[str, int]) -> Tally:
            return Tally(t["valid"], t["invalid"], t["missing"], t["notCovered"])

        def finding(f: dict[str, Any]) -> Finding:
            return Finding(f["kind"], f["key"], f["account"], f["region"], f["detail"])

        report = cls(data["source"], _time(data["start"]), _time(data["end"]), deep=data["deep"],
                     problems=[finding(p) for p in data["problems"]], notices=[finding(n) for n in data["notices"]])
        for s in data["slices"]:
            report.slices[(s["account"], s["region"])] = SliceSummary(tally(s["digests"]), tally(s["logFiles"]),
                                                                      s["eventsInWindow"])
        return report

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


def _time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
