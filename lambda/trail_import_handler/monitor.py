"""ImportMonitor's scheduled check: an EventBridge event for every status change of the account's imports,
progress metrics, and the first failures of a FAILED import.

CloudTrail publishes no event and no metric for imports (REFERENCE: the Lake
metrics cover ingestion and storage only), so a check reads them: ListImports
every time (1,000 imports a page), GetImport only for imports that run or
changed since the last check, ListImportFailures only for a new FAILED.

State is one DynamoDB item per import: its last status, UpdatedTimestamp, a
sequence number, and the events not yet published. A change is written with a
condition on the status and sequence it replaces, so of two checks that see
the same change (one ran twice, or late) one records it and publishes; the
other finds it recorded and publishes nothing. Events are published after the
record and cleared from it after PutEvents succeeds: a check that dies in
between leaves them for the next check, which publishes them with the same
``eventId`` (``importId:seq``) so a consumer can tell the rare repeat. When
a check is skipped, or two changes fall between checks, the statuses an import
must have passed through are published too, marked ``inferred``.

Metrics are embedded-metric-format records printed to stdout: CloudWatch
extracts them from the function's log, with no PutMetricData call and no
permission beyond the log group. With the function's JSON log format, Lambda
leaves a line that is JSON already as it is (Lambda Developer Guide,
"Configuring JSON and plain text log formats"), so the record stays EMF.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from . import clock, cloudtrail
from .cloudtrail import CloudTrailClient, ImportState

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

SOURCE = "cdk-cloudtrail-lake-import"
DETAIL_TYPE = "CloudTrail Lake Import Status Change"
NAMESPACE = "CloudTrailLakeImport"
TABLE_ENV = "IMPORT_MONITOR_TABLE"
FAILURES_ENV = "IMPORT_MONITOR_FIRST_FAILURES"
ENDED = ("COMPLETED", "FAILED", "STOPPED")
# EventBridge takes entries up to 256 KB; a detail of at most 8 KB leaves room for any envelope.
MAX_DETAIL_BYTES = 8 * 1024
_BASELINE = "__monitor__"
_METRICS = ("PrefixesFound", "PrefixesCompleted", "FilesCompleted", "EventsCompleted", "FailedEntries")


@dataclass
class Seen:
    """What the last check recorded of one import."""

    status: str
    updated: str
    seq: int
    pending: list[str] = field(default_factory=list)


@dataclass
class CheckResult:
    """What one check did."""

    published: list[dict[str, Any]] = field(default_factory=list)
    described: int = 0
    listed: int = 0


def handler(event: dict[str, Any], context: object = None) -> dict[str, int]:
    """The scheduled entry point."""
    result = check(cloudtrail.client(), StateTable(os.environ[TABLE_ENV]), boto3.client("events"),
                   first_failures=int(os.environ.get(FAILURES_ENV, "5")))
    logger.info("checked", extra={"listed": result.listed, "described": result.described,
                                  "published": len(result.published)})
    return {"listed": result.listed, "described": result.described, "published": len(result.published)}


def check(ct: CloudTrailClient, state: StateTable, events: Any, *, first_failures: int = 5,
          metrics: Callable[[str], None] = print) -> CheckResult:
    """One check: record and publish every status change since the last one, and the running imports' progress."""
    result = CheckResult()
    seen, since = state.load()
    now = clock.now()
    since = since or state.baseline(now)
    for item in _list_imports(ct):
        result.listed += 1
        import_id = item["ImportId"]
        previous = seen.get(import_id)
        status, updated = item.get("ImportStatus", ""), _iso(item.get("UpdatedTimestamp"))
        if previous is not None and previous.status == status and previous.updated >= updated \
                and status not in cloudtrail.RUNNING:
            continue
        current = cloudtrail.get_import(ct, import_id)
        if current is None:
            continue
        result.described += 1
        metrics(_metric_record(current, now))
        new_run = previous is not None and _iso(current.updated) > previous.updated
        path = transitions(previous.status if previous else None, current.status, new_run=new_run)
        if previous is None and current.status in ENDED and _created(item) < since:
            path = []  # ended before the monitor existed: recorded, not announced
        if not path and previous is not None:
            continue
        failures = cloudtrail.first_failures(ct, current.import_id, first_failures) \
            if path and path[-1] == "FAILED" else []
        seq = previous.seq if previous else 0
        details = []
        before = previous.status if previous else None
        for n, status_now in enumerate(path, start=1):
            details.append(detail(current, before, status_now, seq + n, inferred=n < len(path),
                                  failures=failures if n == len(path) else []))
            before = status_now
        record = Seen(current.status, _iso(current.updated), seq + len(path),
                      (previous.pending if previous else []) + [json.dumps(d) for d in details])
        if state.record(import_id, previous, record):
            seen[import_id] = record
    for import_id, record in seen.items():
        if record.pending:
            result.published += _publish(events, [json.loads(p) for p in record.pending])
            state.clear_pending(import_id, record.seq)
    return result


def transitions(previous: str | None, current: str, *, new_run: bool = False) -> list[str]:
    """The statuses an import went through from ``previous`` to ``current``, in order (``current`` last).

    A run goes INITIALIZING, IN_PROGRESS, then ends COMPLETED, FAILED or STOPPED; a retry starts a new run.
    """
    run = ["INITIALIZING", "IN_PROGRESS", current] if current in ENDED else ["INITIALIZING", "IN_PROGRESS"]
    end = run.index(current) + 1
    if previous is None or (previous in ENDED and (new_run or previous != current)):
        return run[:end]
    if previous == current or previous not in run:
        return []
    return run[run.index(previous) + 1:end]


def detail(state: ImportState, previous: str | None, status: str, seq: int, *, inferred: bool,
           failures: list[cloudtrail.ImportFailure]) -> dict[str, Any]:
    """The event's detail, with its person's sentence, kept under MAX_DETAIL_BYTES."""
    stats = state.statistics
    window = {"start": _iso(state.window.start) or None, "end": _iso(state.window.end) or None}
    body: dict[str, Any] = {
        "eventId": f"{state.import_id}:{seq}", "importId": state.import_id, "destination": state.destination,
        "source": {"uri": state.source_uri, "region": state.source_region}, "window": window,
        "previousStatus": previous, "status": status, "inferred": inferred, "statistics": stats,
        "firstFailures": [{"location": f.location, "errorType": f.error_type, "message": f.message[:500]}
                          for f in failures],
    }
    body["message"] = _sentence(state, status, inferred, failures)
    while len(json.dumps(body).encode()) > MAX_DETAIL_BYTES and body["firstFailures"]:
        body["firstFailures"].pop()
    return body


def _sentence(state: ImportState, status: str, inferred: bool, failures: list[cloudtrail.ImportFailure]) -> str:
    stats = state.statistics
    text = (f"CloudTrail Lake import {state.import_id} from {state.source_uri} is {status}"
            f"{' (passed through between checks)' if inferred else ''}: {stats['EventsCompleted']:,} events from "
            f"{stats['FilesCompleted']:,} files, {stats['PrefixesCompleted']} of {stats['PrefixesFound']} prefixes, "
            f"{stats['FailedEntries']:,} failed entries.")
    if failures:
        first = failures[0]
        text += f" First failure: {first.error_type} at {first.location}: {first.message[:300]}"
    return text


def _metric_record(state: ImportState, now: datetime) -> str:
    """One CloudWatch embedded metric format record: the import's statistics, by destination and import."""
    return json.dumps({
        "_aws": {"Timestamp": int(now.timestamp() * 1000), "CloudWatchMetrics": [{
            "Namespace": NAMESPACE, "Dimensions": [["Destination", "ImportId"], ["Destination"]],
            "Metrics": [{"Name": name, "Unit": "Count"} for name in _METRICS]}]},
        "Destination": state.destination, "ImportId": state.import_id, "ImportStatus": state.status,
        **{name: state.statistics.get(name, 0) for name in _METRICS},
    })


def _publish(events: Any, details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for start in range(0, len(details), 10):
        batch = details[start:start + 10]
        answer = events.put_events(Entries=[{"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(d),
                                             "EventBusName": "default"} for d in batch])
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents refused {answer['FailedEntryCount']} of {len(batch)} entries: "
                               f"{[e.get('ErrorCode') for e in answer.get('Entries', []) if e.get('ErrorCode')]}")
    return details


class StateTable:
    """The monitor's DynamoDB table: one item per import, and the baseline of when the monitor began."""

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self.client: Any = client or boto3.client("dynamodb")

    def load(self) -> tuple[dict[str, Seen], datetime | None]:
        """Every import's record, and when the monitor first checked (None before its first check)."""
        seen: dict[str, Seen] = {}
        since: datetime | None = None
        kwargs: dict[str, Any] = {"TableName": self.name, "ConsistentRead": True}
        while True:
            page = self.client.scan(**kwargs)
            for item in page.get("Items", []):
                if item["ImportId"]["S"] == _BASELINE:
                    since = datetime.fromisoformat(item["Since"]["S"])
                else:
                    seen[item["ImportId"]["S"]] = Seen(item["Status"]["S"], item["Updated"]["S"],
                                                       int(item["Seq"]["N"]),
                                                       [p["S"] for p in item.get("Pending", {}).get("L", [])])
            if "LastEvaluatedKey" not in page:
                return seen, since
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def baseline(self, now: datetime) -> datetime:
        """Record the monitor's first check: imports that ended before it are recorded, not announced."""
        try:
            self.client.put_item(TableName=self.name, Item={"ImportId": {"S": _BASELINE}, "Since": {"S": _iso(now)}},
                                 ConditionExpression="attribute_not_exists(ImportId)")
            return now
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
        item = self.client.get_item(TableName=self.name, Key={"ImportId": {"S": _BASELINE}}, ConsistentRead=True)
        return datetime.fromisoformat(item["Item"]["Since"]["S"])

    def record(self, import_id: str, previous: Seen | None, new: Seen) -> bool:
        """Write ``new`` if the item is still ``previous``; False when another check got there first."""
        item = {"ImportId": {"S": import_id}, "Status": {"S": new.status}, "Updated": {"S": new.updated},
                "Seq": {"N": str(new.seq)}, "Pending": {"L": [{"S": p} for p in new.pending]}}
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(ImportId)"}
        if previous is not None:
            condition = {"ConditionExpression": "#s = :s AND Seq = :q",
                         "ExpressionAttributeNames": {"#s": "Status"},
                         "ExpressionAttributeValues": {":s": {"S": previous.status}, ":q": {"N": str(previous.seq)}}}
        try:
            self.client.put_item(TableName=self.name, Item=item, **condition)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def clear_pending(self, import_id: str, seq: int) -> None:
        """The events up to ``seq`` are published."""
        try:
            self.client.update_item(TableName=self.name, Key={"ImportId": {"S": import_id}},
                                    UpdateExpression="SET Pending = :none", ConditionExpression="Seq = :q",
                                    ExpressionAttributeValues={":none": {"L": []}, ":q": {"N": str(seq)}})
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


def _list_imports(ct: CloudTrailClient) -> Iterator[Any]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 1000}
        if token:
            kwargs["NextToken"] = token
        page = ct.list_imports(**kwargs)
        yield from page.get("Imports", [])
        token = page.get("NextToken")
        if not token:
            return


def _created(item: dict[str, Any]) -> datetime:
    created = item.get("CreatedTimestamp")
    return created if isinstance(created, datetime) else datetime.max.replace(tzinfo=UTC)


def _iso(value: Any) -> str:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else ""
