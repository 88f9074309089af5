"""ImportMonitor's scheduled check: an EventBridge event for every status change of the account's imports,
progress metrics, and the first failures of a FAILED import.

CloudTrail publishes no event and no metric for imports (REFERENCE: the Lake
metrics cover ingestion and storage only), so a check reads them: ListImports
every time (1,000 imports a page), GetImport only for imports that run or
changed since the last check, ListImportFailures only for a new FAILED.

State is one DynamoDB item per import: its last status, UpdatedTimestamp, a
sequence number, the events not yet published, and the lease of the check
publishing them. A change is written with a condition on the status and
sequence it replaces and on a free lease, and the check that writes it takes
the lease in the same write; so of two checks that see the same change (one
ran twice, or late, or the two overlap) one records it and publishes, and the
other finds it recorded or leased and publishes nothing. Events are published
after the record and cleared from it, with the lease, after PutEvents succeeds.
A check that fails to publish gives its leases back; one that dies holds them
until the lease runs out (its own remaining time, after which Lambda has
stopped it), and the next check claims them and publishes with the same
``eventId`` (``importId:seq``), so a consumer can tell the rare repeat. When
a check is skipped, or two changes fall between checks, the statuses an import
must have passed through are published too, marked ``inferred``.

The check does not rely on the function's concurrency for this: reserving
concurrency fails the deploy in an account whose concurrency quota leaves
fewer than 100 executions unreserved (Lambda API Reference,
PutFunctionConcurrency).

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
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from . import clock, cloudtrail, reconciliation
from .cloudtrail import CloudTrailClient, ImportState

logger = logging.getLogger(__name__)
logger.setLevel(logging.INFO)

SOURCE = "cdk-cloudtrail-lake-import"
DETAIL_TYPE = "CloudTrail Lake Import Status Change"
NAMESPACE = "CloudTrailLakeImport"
TABLE_ENV = "IMPORT_MONITOR_TABLE"
FAILURES_ENV = "IMPORT_MONITOR_FIRST_FAILURES"
REPORTS_ENV = "IMPORT_MONITOR_REPORT_BUCKETS"
"""The report buckets of the ArchiveVerifications of the imports watched, comma-separated."""
ENDED = ("COMPLETED", "FAILED", "STOPPED")
# EventBridge takes entries up to 256 KB; a detail of at most 8 KB leaves room for any envelope.
MAX_DETAIL_BYTES = 8 * 1024
_BASELINE = "__monitor__"
# No check holds the item's lease: none taken, or it ran out (ISO 8601 UTC times order as strings).
_FREE = "(attribute_not_exists(Lease) OR Lease < :now)"
# Without a Lambda context (a check run by hand), the longest a Lambda function can run.
DEFAULT_LEASE = timedelta(minutes=15)
_METRICS = ("PrefixesFound", "PrefixesCompleted", "FilesCompleted", "EventsCompleted", "FailedEntries")


@dataclass
class Seen:
    """What the last check recorded of one import."""

    status: str
    updated: str
    seq: int
    pending: list[str] = field(default_factory=list)
    lease: str = ""
    """Until when (ISO 8601, UTC) the check ``owner`` holds the pending events to publish them; "" when free."""
    owner: str = ""


@dataclass
class CheckResult:
    """What one check did."""

    published: list[dict[str, Any]] = field(default_factory=list)
    described: int = 0
    listed: int = 0


def handler(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    """The scheduled entry point."""
    # A check holds its leases for as long as it can run: past that, Lambda has stopped it.
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    lease = timedelta(milliseconds=remaining()) if callable(remaining) else DEFAULT_LEASE
    buckets = [b for b in os.environ.get(REPORTS_ENV, "").split(",") if b]
    result = check(cloudtrail.client(), StateTable(os.environ[TABLE_ENV]), boto3.client("events"),
                   first_failures=int(os.environ.get(FAILURES_ENV, "5")), lease=lease,
                   verified=Verifications(boto3.client("s3"), buckets) if buckets else None)
    logger.info("checked", extra={"listed": result.listed, "described": result.described,
                                  "published": len(result.published)})
    return {"listed": result.listed, "described": result.described, "published": len(result.published)}


def check(ct: CloudTrailClient, state: StateTable, events: Any, *, first_failures: int, lease: timedelta,
          metrics: Callable[[str], None] = print, verified: Verifications | None = None) -> CheckResult:
    """One check: record and publish every status change since the last one, and the running imports' progress.

    ``first_failures`` is how many failures a FAILED import's event carries; ``lease`` how long the check may hold
    the events it publishes (no longer than it can run); ``verified`` where the verifications of the imports'
    windows are, whose counts an ended import's event sets beside its own."""
    result = CheckResult()
    seen, since = state.load()
    now = clock.now()
    since = since or state.baseline(now)
    me, until = uuid.uuid4().hex, _iso(now + lease)
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
        proved = verified.of(current) if verified is not None and path and path[-1] in ENDED else None
        seq = previous.seq if previous else 0
        details = []
        before = previous.status if previous else None
        for n, status_now in enumerate(path, start=1):
            details.append(detail(current, before, status_now, seq + n, inferred=n < len(path),
                                  failures=failures if n == len(path) else [],
                                  verified=proved if n == len(path) else None))
            before = status_now
        pending = (previous.pending if previous else []) + [json.dumps(d) for d in details]
        record = Seen(current.status, _iso(current.updated), seq + len(path), pending,
                      lease=until if pending else "", owner=me if pending else "")
        if state.record(import_id, previous, record, now):
            seen[import_id] = record
    # Ours to publish: what this check recorded, and what a check that died left, once its lease ran out.
    claimed = {import_id: record for import_id, record in seen.items() if record.pending and (
        record.owner == me or state.claim(import_id, record, me, until, now))}
    result.published = _publish(events, state, claimed, me)
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
           failures: list[cloudtrail.ImportFailure], verified: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event's detail, with its person's sentence, kept under MAX_DETAIL_BYTES; with ``verified``, the
    verification of the window beside the import's counts."""
    stats = state.statistics
    window = {"start": _iso(state.window.start) or None, "end": _iso(state.window.end) or None}
    body: dict[str, Any] = {
        "eventId": f"{state.import_id}:{seq}", "importId": state.import_id, "destination": state.destination,
        "source": {"uri": state.source_uri, "region": state.source_region}, "window": window,
        "previousStatus": previous, "status": status, "inferred": inferred, "statistics": stats,
        "firstFailures": [{"location": f.location, "errorType": f.error_type, "message": f.message[:500]}
                          for f in failures],
    }
    if verified is not None:
        body["verified"] = verified
    body["message"] = _sentence(state, status, inferred, failures)
    if verified is not None:
        body["message"] += (f" The verification of its window proved {verified['logFilesVerified']:,} log files and "
                            f"{verified['eventsVerified']:,} events (differences: files "
                            f"{verified['filesDifference']:+,}, events {verified['eventsDifference']:+,}).")
    while len(json.dumps(body).encode()) > MAX_DETAIL_BYTES and body["firstFailures"]:
        body["firstFailures"].pop()
    return body


class Verifications:
    """The counts that ArchiveVerifications kept of whole windows, in their report buckets, by source and window."""

    def __init__(self, s3: Any, buckets: list[str]) -> None:
        self._s3, self._buckets = s3, buckets

    def of(self, state: ImportState) -> dict[str, Any] | None:
        """The last verification of the import's source and window beside the import's counts, or None when
        none is found (or none may be read: a warning says so, and the event goes out without it)."""
        key = reconciliation.window_key(state.source_uri, state.window.start, state.window.end)
        if key is None:
            return None
        for bucket in self._buckets:
            try:
                kept = json.loads(self._s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                    logger.warning("cannot read the verification %s of import %s in %s: %s", key, state.import_id,
                                   bucket, error)
                continue
            except ValueError:
                continue
            if isinstance(kept, dict) and kept.get("source") == state.source_uri.rstrip("/"):
                return reconciliation.beside(state, kept)
        return None


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


def _publish(events: Any, state: StateTable, claimed: dict[str, Seen], me: str) -> list[dict[str, Any]]:
    """Publish the claimed imports' events, 10 to a PutEvents request (its limit), and clear each import's once all
    of them are published; the imports not cleared get their leases back, so the next check publishes them."""
    queue = [(import_id, json.loads(p)) for import_id, record in claimed.items() for p in record.pending]
    left = {import_id: len(record.pending) for import_id, record in claimed.items()}
    published: list[dict[str, Any]] = []
    try:
        for start in range(0, len(queue), 10):
            batch = queue[start:start + 10]
            answer = events.put_events(Entries=[
                {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(d), "EventBusName": "default"}
                for _, d in batch])
            refused = [e.get("ErrorCode") for e in answer.get("Entries", []) if e.get("ErrorCode")]
            if answer.get("FailedEntryCount"):
                raise RuntimeError(f"PutEvents refused {answer['FailedEntryCount']} of {len(batch)} entries: "
                                   f"{refused}")
            for import_id, d in batch:
                published.append(d)
                left[import_id] -= 1
                if not left[import_id]:
                    state.clear_pending(import_id, claimed[import_id].seq, me)
                    del left[import_id]
    finally:
        for import_id in left:
            state.release(import_id, me)
    return published


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
                                                       [p["S"] for p in item.get("Pending", {}).get("L", [])],
                                                       item.get("Lease", {}).get("S", ""),
                                                       item.get("Owner", {}).get("S", ""))
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

    def record(self, import_id: str, previous: Seen | None, new: Seen, now: datetime) -> bool:
        """Write ``new`` if the item is still ``previous`` and no check holds its lease; False when another check
        got there first."""
        item = {"ImportId": {"S": import_id}, "Status": {"S": new.status}, "Updated": {"S": new.updated},
                "Seq": {"N": str(new.seq)}, "Pending": {"L": [{"S": p} for p in new.pending]}}
        if new.lease:
            item |= {"Lease": {"S": new.lease}, "Owner": {"S": new.owner}}
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(ImportId)"}
        if previous is not None:
            condition = {"ConditionExpression": f"#s = :s AND Seq = :q AND {_FREE}",
                         "ExpressionAttributeNames": {"#s": "Status"},
                         "ExpressionAttributeValues": {":s": {"S": previous.status}, ":q": {"N": str(previous.seq)},
                                                       ":now": {"S": _iso(now)}}}
        return self._conditional(self.client.put_item, TableName=self.name, Item=item, **condition)

    def claim(self, import_id: str, record: Seen, owner: str, until: str, now: datetime) -> bool:
        """Take the lease on events another check left pending, if it is free and the item is still ``record``."""
        return self._conditional(
            self.client.update_item, TableName=self.name, Key={"ImportId": {"S": import_id}},
            UpdateExpression="SET Lease = :until, #o = :me", ConditionExpression=f"Seq = :q AND {_FREE}",
            ExpressionAttributeNames={"#o": "Owner"},
            ExpressionAttributeValues={":until": {"S": until}, ":me": {"S": owner}, ":q": {"N": str(record.seq)},
                                       ":now": {"S": _iso(now)}})

    def clear_pending(self, import_id: str, seq: int, owner: str) -> None:
        """The events up to ``seq`` are published; the lease is given back."""
        self._conditional(
            self.client.update_item, TableName=self.name, Key={"ImportId": {"S": import_id}},
            UpdateExpression="SET Pending = :none REMOVE Lease, #o", ConditionExpression="Seq = :q AND #o = :me",
            ExpressionAttributeNames={"#o": "Owner"},
            ExpressionAttributeValues={":none": {"L": []}, ":q": {"N": str(seq)}, ":me": {"S": owner}})

    def release(self, import_id: str, owner: str) -> None:
        """Give the lease back without publishing: the next check claims the events at once."""
        self._conditional(
            self.client.update_item, TableName=self.name, Key={"ImportId": {"S": import_id}},
            UpdateExpression="REMOVE Lease, #o", ConditionExpression="#o = :me",
            ExpressionAttributeNames={"#o": "Owner"}, ExpressionAttributeValues={":me": {"S": owner}})

    @staticmethod
    def _conditional(write: Callable[..., Any], **request: Any) -> bool:
        try:
            write(**request)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True


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
