"""Synth time, template size and resource count: TrailImport against AwsCustomResource calling startImport.

Each figure is measured in this run, ours and the peer's interleaved, so that
the machine's noise weighs on both alike; the report gives medians and ratios.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "constructs"), str(ROOT / "lambda")]

COUNTS = (1, 10, 50)
RUNS = 5
STORE = "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/archive"
ENV = {"account": "111122223333", "region": "us-east-1"}


def _window(i: int) -> tuple[datetime, datetime]:
    return datetime(2000 + i // 12, i % 12 + 1, 1, tzinfo=UTC), datetime(2000 + (i + 1) // 12, (i + 1) % 12 + 1, 1,
                                                                          tzinfo=UTC)


def ours(stack: Any, count: int) -> None:
    from aws_cdk import aws_s3

    from cloudtrail_lake_import import TrailImport

    bucket = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    for i in range(count):
        start, end = _window(i)
        TrailImport(stack, f"Import{i}", event_data_store=STORE, source_bucket=bucket, start_time=start, end_time=end)


def peer(stack: Any, count: int) -> None:
    """What users write without this library: AwsCustomResource calling startImport / stopImport."""
    from aws_cdk import aws_iam, aws_s3, custom_resources

    bucket = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    role = aws_iam.Role(stack, "Access", assumed_by=aws_iam.ServicePrincipal("cloudtrail.amazonaws.com"))
    bucket.grant_read(role)
    for i in range(count):
        start, end = _window(i)
        custom_resources.AwsCustomResource(
            stack, f"Import{i}",
            on_create=custom_resources.AwsSdkCall(
                service="CloudTrail", action="startImport",
                parameters={"Destinations": [STORE], "StartEventTime": start.isoformat(),
                            "EndEventTime": end.isoformat(),
                            "ImportSource": {"S3": {"S3LocationUri": "s3://trail-logs", "S3BucketRegion": "us-east-1",
                                                    "S3BucketAccessRoleArn": role.role_arn}}},
                physical_resource_id=custom_resources.PhysicalResourceId.from_response("ImportId")),
            on_delete=custom_resources.AwsSdkCall(
                service="CloudTrail", action="stopImport",
                parameters={"ImportId": custom_resources.PhysicalResourceIdReference()}),
            policy=custom_resources.AwsCustomResourcePolicy.from_statements([
                aws_iam.PolicyStatement(actions=["cloudtrail:StartImport", "cloudtrail:StopImport"], resources=["*"]),
                aws_iam.PolicyStatement(actions=["iam:PassRole"], resources=[role.role_arn]),
            ]),
            install_latest_aws_sdk=False,
        )


def synth_once(build: Any, count: int) -> tuple[float, int, int]:
    """Seconds to build and synthesize, template bytes, resource count."""
    import aws_cdk as cdk

    began = time.perf_counter()
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="bench-synth-"))
    stack = cdk.Stack(app, "Bench", env=cdk.Environment(**ENV))
    build(stack, count)
    assembly = app.synth()
    seconds = time.perf_counter() - began
    template = Path(assembly.directory) / assembly.get_stack_by_name("Bench").template_file
    text = template.read_text()
    return seconds, len(text.encode()), len(json.loads(text)["Resources"])


def measure() -> dict[str, Any]:
    synth_once(ours, 1)
    synth_once(peer, 1)  # warm the jsii runtime and module caches for both
    results: dict[str, Any] = {}
    for count in COUNTS:
        times: dict[str, list[float]] = {"ours": [], "peer": []}
        sizes: dict[str, tuple[int, int]] = {}
        for _ in range(RUNS):
            for name, build in (("ours", ours), ("peer", peer)):
                seconds, size, resources = synth_once(build, count)
                times[name].append(seconds)
                sizes[name] = (size, resources)
        results[str(count)] = {
            name: {"synth_seconds": statistics.median(times[name]), "template_bytes": sizes[name][0],
                   "resources": sizes[name][1]}
            for name in ("ours", "peer")
        }
    return results


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
