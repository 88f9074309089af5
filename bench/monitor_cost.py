"""ImportMonitor's steady cost per month: idle, and with one import running all month.

The API calls of one check are counted, not guessed: the check runs against
the import simulator and moto, and every call its clients make is counted by
operation. Monthly figures multiply them by the checks of a month and price
them with the list prices below (data with a date, not logic).
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda"), str(ROOT)]
for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"), ("AWS_REGION", "us-east-1"),
                    ("AWS_DEFAULT_REGION", "us-east-1")):
    os.environ.setdefault(name, value)

from bench.prices import PRICE, PRICES_AS_OF  # noqa: E402

CHECKS_PER_MONTH = 30 * 24 * 12  # every 5 minutes
# Duration is not measured here (the simulator answers in microseconds): an assumed check of 400 ms at 256 MB.
ASSUMED_CHECK_SECONDS = 0.4
MEMORY_GB = 0.25
METRICS_PER_IMPORT = 5 * 2  # five statistics, by (Destination, ImportId) and by Destination
LOG_BYTES_PER_CHECK = 600   # the check's own log line plus the Lambda platform lines
EMF_BYTES_PER_RUNNING_IMPORT = 700


def _counted_check(running: bool) -> Counter[str]:
    import boto3
    from moto import mock_aws

    from cloudtrail_lake_import.testing import MOTO_CONFIG, CloudTrailImportSimulator, ImportPlan, default_session
    from trail_import_handler import cloudtrail, monitor

    calls: Counter[str] = Counter()
    sim = CloudTrailImportSimulator()
    destination = sim.add_event_data_store()
    with mock_aws(config=MOTO_CONFIG), default_session(sim) as session:
        session.events.register("before-call", lambda model, **_: calls.update([model.name]))
        boto3.client("dynamodb").create_table(
            TableName="monitor", KeySchema=[{"AttributeName": "ImportId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "ImportId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        state = monitor.StateTable("monitor", boto3.client("dynamodb"))

        def check() -> None:
            monitor.check(cloudtrail.client(), state, boto3.client("events"), first_failures=5,
                          lease=monitor.DEFAULT_LEASE, metrics=lambda _: None)

        check()
        if running:
            sim.plan_next_import(ImportPlan(duration=timedelta(days=40)))
            boto3.client("cloudtrail").start_import(
                Destinations=[destination], ImportSource={"S3": {"S3LocationUri": "s3://trail-logs",
                                                                 "S3BucketRegion": "us-east-1",
                                                                 "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:"
                                                                                          "role/TrailImportAccess"}})
            sim.advance(600)
            check()  # the changes to INITIALIZING and IN_PROGRESS
        sim.advance(300)
        calls.clear()
        check()  # a steady check: nothing changes
    return calls


def _monthly(calls: Counter[str], running: int) -> dict[str, Any]:
    reads = calls["Scan"] + calls["GetItem"]
    writes = calls["PutItem"] + calls["UpdateItem"]
    cost = {
        "lambda": CHECKS_PER_MONTH * (PRICE["lambda_request"]
                                      + ASSUMED_CHECK_SECONDS * MEMORY_GB * PRICE["lambda_gb_second_arm"]),
        "dynamodb": CHECKS_PER_MONTH * (reads * PRICE["dynamodb_read_request"]
                                        + writes * PRICE["dynamodb_write_request"]),
        "eventbridge": CHECKS_PER_MONTH * calls["PutEvents"] * PRICE["eventbridge_custom_event"],
        "metrics": running * METRICS_PER_IMPORT * PRICE["cloudwatch_metric_month"],
        "logs": CHECKS_PER_MONTH * (LOG_BYTES_PER_CHECK + running * EMF_BYTES_PER_RUNNING_IMPORT) / 1e9
        * PRICE["logs_ingest_gb"],
        "cloudtrail_api": 0.0,  # management read events: no charge
    }
    return {"calls_per_check": dict(sorted(calls.items())), "checks_per_month": CHECKS_PER_MONTH,
            "usd_per_month": {k: round(v, 4) for k, v in cost.items()},
            "total_usd_per_month": round(sum(cost.values()), 2),
            "dashboard_usd_per_month_beyond_three": PRICE["dashboard_month"]}


def measure() -> dict[str, Any]:
    return {"prices": PRICES_AS_OF, "assumed_check_seconds": ASSUMED_CHECK_SECONDS,
            "idle": _monthly(_counted_check(running=False), 0),
            "one_running_import": _monthly(_counted_check(running=True), 1)}


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
