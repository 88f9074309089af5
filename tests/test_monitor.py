"""ImportMonitor's check through sequences of simulator states, with moto for DynamoDB, EventBridge and SQS.

The check runs as the monitor's synthesized role (IAM enforced); its events
reach an SQS queue through an ordinary EventBridge rule, as any subscriber's
would; its metrics are the embedded-metric-format records it prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, default_session, failures
from tests.driver import BLOCKING_SOURCE, OTHER_SOURCE, ProviderDriver
from tests.handler_roles import HandlerRoles, admin_client
from trail_import_handler import cloudtrail, monitor


@pytest.fixture
def caller(handler_roles: HandlerRoles) -> str:
    """The check runs as the ImportMonitor's role."""
    return handler_roles.monitor_role


@dataclass
class Monitor:
    """The monitor's table, a queue that receives its events, and the handler, run as a scheduled check."""

    sim: CloudTrailImportSimulator
    queue: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def check(self, capsys: pytest.CaptureFixture[str], context: Any = None) -> list[dict[str, Any]]:
        """One scheduled check; the events it published."""
        capsys.readouterr()
        monitor.handler({"source": "aws.events", "detail-type": "Scheduled Event"}, context)
        self.metrics += [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        return self.received()

    def received(self) -> list[dict[str, Any]]:
        """The events that reached the queue since the last look."""
        sqs = admin_client("sqs")
        received = []
        while True:
            batch = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                break
            for message in batch:
                received.append(json.loads(message["Body"])["detail"])
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
        self.events += received
        return received


@pytest.fixture
def watcher(aws: CloudTrailImportSimulator, handler_roles: HandlerRoles,
            monkeypatch: pytest.MonkeyPatch) -> Monitor:
    table = handler_roles.monitor_table
    admin_client("dynamodb").create_table(
        TableName=table, KeySchema=[{"AttributeName": "ImportId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "ImportId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    sqs = admin_client("sqs")
    url = sqs.create_queue(QueueName="import-changes")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = admin_client("events")
    events.put_rule(Name="import-changes", EventPattern=json.dumps(
        {"source": [monitor.SOURCE], "detail-type": [monitor.DETAIL_TYPE]}))
    events.put_targets(Rule="import-changes", Targets=[{"Id": "queue", "Arn": arn}])
    monkeypatch.setenv(monitor.TABLE_ENV, table)
    return Monitor(aws, url)


def _statuses(events: list[dict[str, Any]]) -> list[tuple[str | None, str, bool]]:
    return [(e["previousStatus"], e["status"], e["inferred"]) for e in events]


@pytest.fixture
def start_as_handler(aws: CloudTrailImportSimulator, handler_roles: HandlerRoles) -> Any:
    """Starts an import through the import handler, as its own role, as a deploy with WaitForCompletion false."""
    def start(props: dict[str, str], **plan: Any) -> str:
        if plan:
            aws.plan_next_import(ImportPlan(**plan))
        with default_session(aws, handler_roles.provider_role):
            return ProviderDriver(aws).create({**props, "WaitForCompletion": "false"}).physical_id
    return start


def test_each_status_change_across_checks_is_one_event(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sim = watcher.sim
    assert watcher.check(capsys) == [], "nothing to tell before any import"
    import_id = start_as_handler(props)
    first = watcher.check(capsys)
    sim.advance(120)
    second = watcher.check(capsys)
    sim.advance(900)
    third = watcher.check(capsys)
    assert _statuses(first) == [(None, "INITIALIZING", False)]
    assert _statuses(second) == [("INITIALIZING", "IN_PROGRESS", False)]
    assert _statuses(third) == [("IN_PROGRESS", "COMPLETED", False)]
    done = third[0]
    assert done["importId"] == import_id
    assert done["eventId"] == f"{import_id}:3"
    assert done["destination"] == props["EventDataStoreArn"]
    assert done["source"] == {"uri": props["S3LocationUri"], "region": "us-east-1"}
    assert done["window"] == {"start": "2024-01-01T00:00:00+00:00", "end": "2024-07-01T00:00:00+00:00"}
    assert done["statistics"]["EventsCompleted"] == 48_000
    assert done["message"] == (f"CloudTrail Lake import {import_id} from s3://trail-logs/org-trail is COMPLETED: "
                               "48,000 events from 240 files, 12 of 12 prefixes, 0 failed entries.")
    assert watcher.check(capsys) == [], "no change, no event"
    assert sim.calls("ListImportFailures") == [], "read only for an import that failed"


def test_progress_metrics_are_written_for_running_imports(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props)
    watcher.sim.advance(300)
    watcher.check(capsys)
    (record,) = [m for m in watcher.metrics if m["ImportId"] == import_id]
    assert record["_aws"]["Timestamp"] == int(watcher.sim.now.timestamp() * 1000), "milliseconds, as EMF requires"
    assert record["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CloudTrailLakeImport"
    assert record["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Destination", "ImportId"], ["Destination"]]
    # The embedded metric format's own names: CloudWatch extracts nothing from a record that misspells them.
    assert record["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [
        {"Name": name, "Unit": "Count"}
        for name in ("PrefixesFound", "PrefixesCompleted", "FilesCompleted", "EventsCompleted", "FailedEntries")]
    assert record["ImportStatus"] == "IN_PROGRESS", "the dashboard's status table reads it"
    assert record["Destination"] == props["EventDataStoreArn"]
    assert 0 < record["EventsCompleted"] < 48_000
    watcher.sim.finish_all()
    watcher.check(capsys)
    watcher.metrics.clear()
    watcher.check(capsys)
    assert watcher.metrics == [], "an ended import is not read again"


def test_a_failed_imports_event_carries_its_first_failures(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props, failures=failures(40, message_size=900))
    watcher.sim.finish_all()
    (*passed, failed) = watcher.check(capsys)
    assert failed["status"] == "FAILED"
    assert len(failed["firstFailures"]) == 5
    assert [e["firstFailures"] for e in passed] == [[], []], "the statuses it passed through carry none"
    assert failed["message"].startswith(f"CloudTrail Lake import {import_id} from s3://trail-logs/org-trail is FAILED:")
    first = watcher.sim.imports[import_id].plan.failures[0]
    assert failed["firstFailures"][0] == {"location": first.location, "errorType": "FileParseError",
                                          "message": first.message[:500]}
    assert f"First failure: FileParseError at {first.location}" in failed["message"]
    assert len(json.dumps(failed).encode()) <= monitor.MAX_DETAIL_BYTES


def test_the_number_of_first_failures_is_the_monitors_setting(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(monitor.FAILURES_ENV, "2")  # ImportMonitor(first_failures=2)
    watcher.check(capsys)
    start_as_handler(props, failures=failures(40))
    watcher.sim.finish_all()
    (*_, failed) = watcher.check(capsys)
    assert len(failed["firstFailures"]) == 2


def test_a_failed_event_keeps_as_many_first_failures_as_fit_in_its_8_kb(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(monitor.FAILURES_ENV, "25")  # the most ImportMonitor allows
    watcher.check(capsys)
    import_id = start_as_handler(props, failures=failures(40, message_size=900))
    watcher.sim.finish_all()
    (*_, failed) = watcher.check(capsys)
    kept = failed["firstFailures"]
    scripted = watcher.sim.imports[import_id].plan.failures
    assert 0 < len(kept) < 25
    assert [f["location"] for f in kept] == [f.location for f in scripted[:len(kept)]], "the first ones, in order"
    assert len(json.dumps(failed).encode()) <= monitor.MAX_DETAIL_BYTES
    one_more = {**failed, "firstFailures": [*kept, {"location": scripted[len(kept)].location,
                                                    "errorType": "FileParseError",
                                                    "message": scripted[len(kept)].message[:500]}]}
    assert len(json.dumps(one_more).encode()) > monitor.MAX_DETAIL_BYTES, "no room was left for another"
    assert failed["message"].endswith(f"First failure: FileParseError at {scripted[0].location}: "
                                      f"{scripted[0].message[:300]}")


def test_a_retry_that_failed_again_between_checks_is_told_as_a_new_run(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    handler_roles: HandlerRoles,
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props, failures=failures(3), retry=ImportPlan(failures=failures(2)))
    watcher.sim.finish_all()
    assert _statuses(watcher.check(capsys))[-1] == ("IN_PROGRESS", "FAILED", False)
    with default_session(watcher.sim, handler_roles.provider_role):
        boto3.client("cloudtrail").start_import(ImportId=import_id)
    watcher.sim.finish_all()  # the retry runs and fails between two checks: the status reads FAILED as before
    assert _statuses(watcher.check(capsys)) == [
        ("FAILED", "INITIALIZING", True), ("INITIALIZING", "IN_PROGRESS", True), ("IN_PROGRESS", "FAILED", False)]


def test_changes_between_checks_give_the_final_event_and_no_missed_status(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props)
    watcher.check(capsys)
    watcher.sim.finish_all()  # IN_PROGRESS and COMPLETED both fall between two checks
    events = watcher.check(capsys)
    assert _statuses(events) == [("INITIALIZING", "IN_PROGRESS", True), ("IN_PROGRESS", "COMPLETED", False)]
    assert [e["eventId"] for e in events] == [f"{import_id}:2", f"{import_id}:3"]
    assert " is IN_PROGRESS (passed through between checks): " in events[0]["message"]
    assert " is COMPLETED: " in events[1]["message"]


def test_an_import_started_and_ended_between_checks_still_tells_every_status(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    start_as_handler(props)
    watcher.sim.finish_all()
    assert _statuses(watcher.check(capsys)) == [
        (None, "INITIALIZING", True), ("INITIALIZING", "IN_PROGRESS", True), ("IN_PROGRESS", "COMPLETED", False)]


def test_imports_that_ended_before_the_monitor_existed_are_not_announced(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    start_as_handler(props)
    watcher.sim.finish_all()
    watcher.sim.advance(3600)
    assert watcher.check(capsys) == []
    # Recorded, so the next checks do not read it again.
    assert monitor.handler({"source": "aws.events"}) == {"listed": 1, "described": 0, "published": 0}


def test_an_import_that_ended_before_the_monitor_is_announced_once_it_is_retried(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    handler_roles: HandlerRoles,
) -> None:
    import_id = start_as_handler(props, failures=failures(3))
    watcher.sim.finish_all()
    watcher.sim.advance(3600)
    assert watcher.check(capsys) == []
    with default_session(watcher.sim, handler_roles.provider_role):
        boto3.client("cloudtrail").start_import(ImportId=import_id)
    assert _statuses(watcher.check(capsys)) == [("FAILED", "INITIALIZING", False)]


def test_an_ended_import_already_recorded_does_not_hide_the_imports_listed_after_it(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    older = start_as_handler(props)
    watcher.sim.finish_all()
    assert {e["importId"] for e in watcher.check(capsys)} == {older}
    newer = start_as_handler({**props, **OTHER_SOURCE})
    assert [(e["importId"], e["status"]) for e in watcher.check(capsys)] == [(newer, "INITIALIZING")]


def test_a_repeated_check_publishes_nothing_twice(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    start_as_handler(props)
    assert len(watcher.check(capsys)) == 1
    assert watcher.check(capsys) == []
    assert watcher.check(capsys) == []


def test_a_check_that_failed_to_publish_is_retried_and_publishes_each_change_once(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    handler_roles: HandlerRoles,
) -> None:
    watcher.check(capsys)
    start_as_handler(props)
    _a_check_denied_put_events(watcher, handler_roles, capsys)
    retried = watcher.check(capsys)
    assert _statuses(retried) == [(None, "INITIALIZING", False)]
    assert watcher.check(capsys) == []


def _a_check_denied_put_events(watcher: Monitor, handler_roles: HandlerRoles,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """One check with PutEvents denied: it records the changes, then fails to publish them."""
    world = watcher.sim.iam
    assert world is not None
    policies = world.roles[handler_roles.monitor_role].policies
    saved = list(policies)
    policies[:] = [{**d, "Statement": [s for s in d["Statement"] if s.get("Action") != "events:PutEvents"]}
                   for d in policies]
    try:
        with pytest.raises(Exception, match="AccessDenied"):
            watcher.check(capsys)
    finally:
        policies[:] = saved


def test_events_a_failed_check_left_are_published_once_by_two_overlapping_checks(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    handler_roles: HandlerRoles,
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props, duration=timedelta(hours=2), initializing=timedelta(hours=1))
    _a_check_denied_put_events(watcher, handler_roles, capsys)
    # The first to claim what was left publishes it; the other, running meanwhile, finds it claimed.
    _check_with(events=_before(boto3.client("events"), "PutEvents", lambda: watcher.check(capsys)))
    watcher.received()
    assert [e["eventId"] for e in watcher.events] == [f"{import_id}:1"]
    assert watcher.check(capsys) == []
    watcher.sim.advance(monitor.DEFAULT_LEASE.total_seconds() + 1)
    assert watcher.check(capsys) == [], "published and cleared: nothing is left for a later check"


def test_each_check_answers_and_logs_what_it_read_and_published(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], caplog: pytest.LogCaptureFixture,
) -> None:
    start_as_handler(props)
    watcher.sim.finish_all()
    start_as_handler({**props, **OTHER_SOURCE}, duration=timedelta(hours=2), initializing=timedelta(hours=1))
    answer = monitor.handler({"source": "aws.events", "detail-type": "Scheduled Event"})
    # Both listed and read; the one that ended before the monitor's first check is recorded, not announced.
    assert answer == {"listed": 2, "described": 2, "published": 1}
    (record,) = [r for r in caplog.records if r.name == monitor.__name__ and r.getMessage() == "checked"]
    assert (record.listed, record.described, record.published) == (2, 2, 1)  # type: ignore[attr-defined]


def test_an_import_gone_between_listing_and_reading_is_passed_over_and_the_others_told(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    first = start_as_handler(props)
    watcher.sim.finish_all()
    second = start_as_handler({**props, **OTHER_SOURCE})
    watcher.sim.inject_fault("GetImport", "ImportNotFoundException", message="Import not found")
    told = {e["importId"] for e in watcher.check(capsys)}
    assert len(told) == 1, "the one read is told, the one not found is passed over"
    assert told | {e["importId"] for e in watcher.check(capsys)} == {first, second}


def test_many_imports_are_read_through_every_page(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    started = []
    for n in range(45):
        started.append(start_as_handler({**props, **OTHER_SOURCE, "S3LocationUri": f"s3://other-logs/p{n}"}))
        watcher.sim.finish_all()
    events = watcher.check(capsys)
    completed = {e["importId"] for e in events if e["status"] == "COMPLETED"}
    assert completed == set(started)
    assert len(events) == 45 * 3
    pages = [r for r in watcher.sim.requests if r.operation == "ListImports" and r.error is None]
    assert len(pages) >= 3 + 1, "45 imports at 20 a page, after the first check's page"


def test_throttling_is_ridden_out(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    start_as_handler({**props, **BLOCKING_SOURCE})
    for operation in ("ListImports", "GetImport"):
        watcher.sim.inject_fault(operation, "ThrottlingException", times=3)
    assert _statuses(watcher.check(capsys)) == [(None, "INITIALIZING", False)]


def _before(client: Any, operation: str, meanwhile: Callable[[], Any]) -> Any:
    """``client``, whose first ``operation`` request waits until ``meanwhile`` has run: another check overlapping."""
    pending = [meanwhile]

    def hook(**_: Any) -> None:
        if pending:
            pending.pop()()
    client.meta.events.register_first(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                                      hook)
    return client


def _check_with(*, events: Any = None, table: Any = None,
                lease: timedelta = monitor.DEFAULT_LEASE) -> monitor.CheckResult:
    """A check as the handler runs it, with these clients in place of its own."""
    return monitor.check(cloudtrail.client(), monitor.StateTable(os.environ[monitor.TABLE_ENV], table),
                  events or boto3.client("events"), first_failures=5, lease=lease, metrics=lambda _: None)


def test_a_check_that_overlaps_anothers_publishing_publishes_nothing_twice(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props)
    # The second check runs while the first has recorded the change and is about to publish it, and the import
    # has moved on since: the second leaves the import to the first, and the next check tells the move.
    def moved_on_and_checked() -> None:
        watcher.sim.advance(120)
        watcher.check(capsys)
    _check_with(events=_before(boto3.client("events"), "PutEvents", moved_on_and_checked))
    watcher.received()
    assert [e["eventId"] for e in watcher.events] == [f"{import_id}:1"]
    assert _statuses(watcher.check(capsys)) == [("INITIALIZING", "IN_PROGRESS", False)]
    assert watcher.check(capsys) == []


def test_a_check_that_overlaps_anothers_recording_publishes_nothing_twice(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props)
    watcher.check(capsys)
    watcher.sim.advance(120)
    # Both read the table before either wrote; the second records IN_PROGRESS and publishes while the first waits.
    _check_with(table=_before(boto3.client("dynamodb"), "PutItem", lambda: watcher.check(capsys)))
    watcher.received()
    assert [e["eventId"] for e in watcher.events] == [f"{import_id}:1", f"{import_id}:2"]
    assert _statuses(watcher.events[1:]) == [("INITIALIZING", "IN_PROGRESS", False)]


@pytest.mark.parametrize("moved_on", [True, False], ids=["import-moved-on", "import-unchanged"])
def test_a_check_stopped_while_publishing_leaves_its_events_to_the_first_check_after_its_time_ran_out(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    moved_on: bool,
) -> None:
    watcher.check(capsys)
    slow = {} if moved_on else {"duration": timedelta(hours=2), "initializing": timedelta(hours=1)}
    import_id = start_as_handler(props, **slow)
    publishing, stop = threading.Event(), threading.Event()
    two_minutes = SimpleNamespace(get_remaining_time_in_millis=lambda: 120_000)

    def hang(**_: Any) -> None:
        if threading.current_thread() is stuck:
            publishing.set()
            stop.wait(30)
            raise RuntimeError("the function timed out")
    def stopped_check() -> None:
        with pytest.raises(RuntimeError, match="timed out"):
            watcher.check(capsys, two_minutes)
    stuck = threading.Thread(target=stopped_check)
    # Every client the handler makes from here on carries the hook.
    boto3._get_default_session().events.register_first("before-call.eventbridge.PutEvents", hang)
    stuck.start()
    try:
        assert publishing.wait(30)
        assert watcher.check(capsys, two_minutes) == [], "the stuck check still has time: its events are its own"
        watcher.sim.advance(121)
        # What the stuck check left, then the change since (if any), in order.
        assert [e["eventId"] for e in watcher.check(capsys, two_minutes)] == (
            [f"{import_id}:1", f"{import_id}:2"] if moved_on else [f"{import_id}:1"])
    finally:
        stop.set()
        stuck.join(30)
    assert watcher.check(capsys) == []


def _answer_once(client: Any, operation: str, answer: dict[str, Any]) -> Any:
    """``client``, whose next ``operation`` request gets ``answer`` instead of reaching the service: for answers moto
    never gives. The answer must be of the operation's output shape in botocore's model."""
    model = client.meta.service_model.operation_model(operation).output_shape
    assert set(answer) <= set(model.members), sorted(set(answer) - set(model.members))
    entry = model.members.get("Entries")
    for item in answer.get("Entries", []):
        assert entry is None or set(item) <= set(entry.member.members), item
    pending = [answer]

    def hook(**_: Any) -> Any:
        if pending:
            return AWSResponse("https://events.us-east-1.amazonaws.com/", 200, HTTPHeaders(), None), pending.pop()
        return None
    client.meta.events.register_first(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{operation}",
                                      hook)
    return client


def test_a_put_events_that_refuses_an_entry_leaves_the_events_for_the_next_check(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    import_id = start_as_handler(props)
    watcher.sim.finish_all()
    refused = {"FailedEntryCount": 1, "Entries": [
        {"EventId": "e-1"}, {"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"}, {"EventId": "e-3"}]}
    with pytest.raises(RuntimeError, match=r"PutEvents refused 1 of 3 entries: \['ThrottlingException'\]"):
        _check_with(events=_answer_once(boto3.client("events"), "PutEvents", refused))
    # None is lost: the next check sends the three again, with the same eventIds for a consumer to tell.
    assert [e["eventId"] for e in watcher.check(capsys)] == [f"{import_id}:{n}" for n in (1, 2, 3)]
    assert watcher.check(capsys) == []


def test_changes_of_many_imports_are_published_ten_to_a_request(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    watcher.check(capsys)
    for n in range(4):
        start_as_handler({**props, **OTHER_SOURCE, "S3LocationUri": f"s3://other-logs/p{n}"})
        watcher.sim.finish_all()
    requests: list[int] = []
    events = boto3.client("events")
    events.meta.events.register("before-parameter-build.eventbridge.PutEvents",
                                lambda params, **_: requests.append(len(params["Entries"])))
    published = _check_with(events=events).published
    received = watcher.received()
    assert len(received) == 4 * 3
    assert sorted(e["eventId"] for e in published) == sorted(e["eventId"] for e in received), "it tells what it sent"
    assert requests == [10, 2], "PutEvents takes at most 10 entries (the model's limit), and each is filled"


@pytest.mark.parametrize(("previous", "current", "new_run", "path"), [
    (None, "INITIALIZING", False, ["INITIALIZING"]),
    (None, "COMPLETED", False, ["INITIALIZING", "IN_PROGRESS", "COMPLETED"]),
    ("INITIALIZING", "FAILED", False, ["IN_PROGRESS", "FAILED"]),
    ("IN_PROGRESS", "IN_PROGRESS", False, []),
    ("FAILED", "IN_PROGRESS", True, ["INITIALIZING", "IN_PROGRESS"]),
    ("FAILED", "FAILED", True, ["INITIALIZING", "IN_PROGRESS", "FAILED"]),
    ("FAILED", "FAILED", False, []),
    ("STOPPED", "COMPLETED", True, ["INITIALIZING", "IN_PROGRESS", "COMPLETED"]),
])
def test_transitions_follow_the_import_lifecycle(previous: str | None, current: str, new_run: bool,
                                                 path: list[str]) -> None:
    assert monitor.transitions(previous, current, new_run=new_run) == path


# The key ArchiveVerification keeps a whole window's counts under, as its docs give it: the SHA-256 of
# "SOURCE|START|END", times in whole seconds UTC.
_WINDOW = "s3://trail-logs/org-trail|2024-01-01T00:00:00Z|2024-07-01T00:00:00Z"
_KEPT = f"verifications/windows/{hashlib.sha256(_WINDOW.encode()).hexdigest()}.json"


def test_an_ended_imports_event_sets_the_verification_of_its_window_beside_its_counts(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    handler_roles: HandlerRoles, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    reports = handler_roles.monitor_reports
    s3 = admin_client("s3")
    for bucket in (reports, "elsewhere"):
        s3.create_bucket(Bucket=bucket)
    report = f"s3://{reports}/verifications/run-1/report.json"
    s3.put_object(Bucket=reports, Key=_KEPT, Body=json.dumps({
        "source": "s3://trail-logs/org-trail", "intact": True, "digestsVerified": 181, "logFilesVerified": 239,
        "eventsInWindow": 48_010, "problems": 0, "reportUri": report}).encode())
    # A bucket the monitor may not read comes first: it is passed over, with a warning, and the next one read.
    s3.put_object(Bucket="elsewhere", Key=_KEPT, Body=b"{}")
    monkeypatch.setenv(monitor.REPORTS_ENV, f"elsewhere,{reports}")
    watcher.check(capsys)
    import_id = start_as_handler(props, files=240, events=48_000)
    running = watcher.check(capsys)
    assert running
    assert all("verified" not in e for e in running), "only an ended import is reconciled"
    watcher.sim.finish_all()
    (ended,) = [e for e in watcher.check(capsys) if e["status"] == "COMPLETED"]
    assert ended["verified"] == {"logFilesVerified": 239, "eventsVerified": 48_010, "intact": True,
                                 "reportUri": report, "filesDifference": 1, "eventsDifference": -10}
    assert ended["message"].endswith("The verification of its window proved 239 log files and 48,010 events "
                                     "(differences: files +1, events -10).")
    assert import_id in ended["message"]
    assert any("cannot read the verification" in r.getMessage() and "elsewhere" in r.getMessage()
               for r in caplog.records)


def test_an_import_of_a_window_nobody_verified_ends_without_verified_counts(
    watcher: Monitor, start_as_handler: Any, props: dict[str, str], capsys: pytest.CaptureFixture[str],
    handler_roles: HandlerRoles, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin_client("s3").create_bucket(Bucket=handler_roles.monitor_reports)
    monkeypatch.setenv(monitor.REPORTS_ENV, handler_roles.monitor_reports)
    watcher.check(capsys)
    start_as_handler({**props, "EndEventTime": "2024-06-01T00:00:00Z"})
    watcher.sim.finish_all()
    (ended,) = [e for e in watcher.check(capsys) if e["status"] == "COMPLETED"]
    assert "verified" not in ended
