"""A verified import's counts set beside the verification's when it ends: reported, and a failure only when the
resource asks for it."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan
from tests.driver import ProviderDriver
from trail_import_handler import reconciliation


def _verified(props: dict[str, str], files: int, events: int, **more: str) -> dict[str, str]:
    return {**props, "VerifiedLogFiles": str(files), "VerifiedEvents": str(events), **more}


def test_a_verified_import_reports_its_counts_beside_the_verifications(
        sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]) -> None:
    sim.plan_next_import(ImportPlan(files=240, events=48_000))
    outcome = provider.create(_verified(props, 252, 48_000))
    assert outcome.status == "SUCCESS", outcome.reason
    # The import read 240 files; the verification proved 252 (files just outside the window's edges among them).
    assert {k: outcome.data[k] for k in ("LogFilesVerified", "EventsVerified", "FilesDifference",
                                         "EventsDifference")} == \
        {"LogFilesVerified": "252", "EventsVerified": "48000", "FilesDifference": "-12", "EventsDifference": "0"}


def test_a_difference_in_events_is_reported_not_a_failure_by_default(
        sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]) -> None:
    sim.plan_next_import(ImportPlan(files=240, events=47_990))
    outcome = provider.create(_verified(props, 240, 48_000))
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.data["EventsDifference"] == "-10"


def test_a_strict_reconciliation_fails_on_a_difference_in_events_saying_what_stays(
        sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]) -> None:
    sim.plan_next_import(ImportPlan(files=240, events=47_990))
    outcome = provider.create(_verified(props, 240, 48_000, ReconcileStrictly="true"))
    assert outcome.status == "FAILED"
    assert outcome.reason == (
        f"Import {outcome.physical_id} COMPLETED with 47990 events, but the verification proved 48000 events in the "
        "window (-10); ReconcileStrictly is true. The events imported stay in the event data store: compare the "
        "verification's report with the store, then set ReconcileStrictly to false to accept the import as it is.")


def test_a_strict_reconciliation_of_equal_events_succeeds_whatever_the_files(
        sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]) -> None:
    sim.plan_next_import(ImportPlan(files=240, events=48_000))
    outcome = provider.create(_verified(props, 250, 48_000, ReconcileStrictly="true"))
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.data["FilesDifference"] == "-10"


def test_an_import_without_a_verification_has_no_reconciliation(
        sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str]) -> None:
    outcome = provider.create(props)
    assert "EventsDifference" not in outcome.data


@pytest.mark.parametrize(("extra", "message"), [
    ({"VerifiedLogFiles": "10"}, 'VerifiedEvents: expected it beside VerifiedLogFiles, a whole number such as "1200".'),
    ({"VerifiedLogFiles": "ten", "VerifiedEvents": "5"},
     "VerifiedLogFiles: expected a whole number of 0 or more, such as \"1200\"; got 'ten'."),
    ({"ReconcileStrictly": "true"}, "ReconcileStrictly: give VerifiedLogFiles and VerifiedEvents too, the counts of "
                                    "the verification to reconcile with."),
])
def test_bad_verified_counts_are_refused_before_any_import(
        sim: CloudTrailImportSimulator, provider: ProviderDriver, props: dict[str, str], extra: dict[str, str],
        message: str) -> None:
    outcome = provider.create({**props, **extra})
    assert outcome.status == "FAILED"
    assert outcome.reason == message
    assert sim.imports == {}



@pytest.mark.parametrize(("start", "end", "kept_as"), [
    (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 7, 1, tzinfo=UTC),
     "s3://trail-logs/org-trail|2024-01-01T00:00:00Z|2024-07-01T00:00:00Z"),
    # An event's time is whole seconds: a window from 00:00:00.5 holds the events from 00:00:01 on.
    (datetime(2024, 1, 1, 0, 0, 0, 500_000, tzinfo=UTC), datetime(2024, 7, 1, 1, 59, 59, 1, tzinfo=timezone(
        timedelta(hours=2))), "s3://trail-logs/org-trail|2024-01-01T00:00:01Z|2024-07-01T00:00:00Z"),
])
def test_an_imports_window_finds_the_verification_kept_for_the_same_events(
        start: datetime, end: datetime, kept_as: str, away_from_utc: str) -> None:
    # Whatever the machine's own time zone (away_from_utc).
    expected = f"verifications/windows/{hashlib.sha256(kept_as.encode()).hexdigest()}.json"
    assert reconciliation.window_key("s3://trail-logs/org-trail/", start, end) == expected
    # A prefix is kept as it is but for the trailing slash: "X" is a letter of it.
    other = kept_as.replace("org-trail", "ORG-X")
    assert reconciliation.window_key("s3://trail-logs/ORG-X/", start, end) == \
        f"verifications/windows/{hashlib.sha256(other.encode()).hexdigest()}.json"
    assert reconciliation.window_key("s3://trail-logs/org-trail", start, None) is None
    assert reconciliation.window_key("s3://trail-logs/org-trail", None, end) is None
