"""Watch a whole CloudFormation lifecycle of the example app's import, locally, with no AWS account.

Synthesizes app.py, reads the Custom::CloudTrailLakeImport properties from the
template, and plays Create -> wait -> Delete through the CDK Provider
framework's own runtime (framework.js) around the real handler, against the
CloudTrail import simulator. The example app's ImportMonitor checks every five
minutes of the simulated clock, and the events it publishes are printed.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]
os.environ.setdefault("AWS_REGION", "us-east-1")

from moto import mock_aws  # noqa: E402

from cloudtrail_lake_import.testing import (  # noqa: E402
    MOTO_CONFIG,
    CloudTrailImportSimulator,
    ImportPlan,
    default_session,
)
from cloudtrail_lake_import.testing.framework import ProviderFramework  # noqa: E402

STACK = "TrailArchiveImport"


def synthesize() -> dict[str, Any]:
    import aws_cdk as cdk

    import app as example

    outdir = tempfile.mkdtemp(prefix="demo-cdk-out-")
    application = cdk.App(outdir=outdir)
    example.build(application)
    application.synth()
    return dict(json.loads((Path(outdir) / f"{STACK}.template.json").read_text()))


class Resolver:
    """Resolves the intrinsic functions in the resource's properties as a deployed stack would."""

    def __init__(self, sim: CloudTrailImportSimulator, template: dict[str, Any]) -> None:
        self.sim = sim
        self.resources = template["Resources"]
        self.pseudo = {"AWS::Region": sim.region, "AWS::AccountId": sim.account, "AWS::Partition": "aws"}

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            (function, argument), = value.items()
            if function == "Ref":
                return self.pseudo.get(argument, argument)
            if function == "Fn::GetAtt":
                return self._attribute(*argument)
            if function == "Fn::Join":
                return str(argument[0]).join(str(self(part)) for part in argument[1])
        if isinstance(value, dict):
            return {key: self(item) for key, item in value.items()}
        return value

    def _attribute(self, logical_id: str, name: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::CloudTrail::EventDataStore":
            return self.sim.add_event_data_store(self.resources[logical_id]["Properties"].get("Name", logical_id))
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.sim.account}:role/{logical_id}"
        if kind == "AWS::Lambda::Function":
            return f"arn:aws:lambda:{self.sim.region}:{self.sim.account}:function:{logical_id}"
        if kind == "Custom::CloudTrailLakeArchiveVerification":
            return f"<verified {name}>"  # filled in once the preflight has counted the window (verified())
        raise ValueError(f"the demo cannot resolve {logical_id}.{name}")


def trail_bucket(props: dict[str, Any]) -> Any:
    """A bucket like the example app's: a year of trail logs in three regions, ACLs disabled."""
    import boto3

    from cloudtrail_lake_import.testing.trail_bucket import TrailLayout, boto3_put, write_trail_logs

    bucket = props["S3LocationUri"].removeprefix("s3://").split("/", 1)[0]
    s3 = boto3.client("s3", region_name=props["S3BucketRegion"])
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    written = write_trail_logs(TrailLayout(start=datetime(2024, 1, 1, tzinfo=UTC), days=366, files_per_day=2,
                                           records_per_file=5), boto3_put(s3, bucket))
    print(f"Generated s3://{bucket}: {written} trail log files, 2024, three regions")
    return s3


def preflight_plan(s3: Any, props: dict[str, Any]) -> ImportPlan:
    """Preflight the source as the CLI would, and let the simulated import read what it found."""
    from trail_import_handler.preflight import run_preflight
    from trail_import_handler.properties import parse_properties

    # The source and the window only: the verified counts are filled in from this preflight's findings.
    parsed = parse_properties({k: v for k, v in props.items()
                               if k not in ("VerifiedLogFiles", "VerifiedEvents", "ReconcileStrictly")})
    report = run_preflight(s3, parsed.source, parsed.window)
    costs = ", ".join(f"{name} ${usd:,.2f}" for name, usd in report.costs.items())
    print(f"Preflight: {len(report.findings.files)} files in the window, {report.findings.compressed_bytes:,} bytes "
          f"compressed, about {report.uncompressed_bytes:,} uncompressed and {report.events:,} events; "
          f"ingestion {costs}; {report.findings.list_requests} list requests")
    day_folders = len({f.key.rsplit("/", 1)[0] for f in report.findings.files})
    return ImportPlan(prefixes=day_folders, files=len(report.findings.files), events=report.events)


def verified(props: dict[str, Any], plan: ImportPlan) -> None:
    """The verification the import depends on is not played here (tests/test_archive_verification.py runs it on
    moto's Step Functions interpreter): its counts are taken as the preflight found them."""
    counts = {"<verified LogFilesVerified>": str(plan.files), "<verified EventsInWindow>": str(plan.events)}
    for key, value in list(props.items()):
        if value in counts:
            props[key] = counts[value]
            print(f"  {key:<22} {props[key]} (the verification's, as the preflight counted the window)")


class MonitorChecks:
    """The ImportMonitor's scheduled check, run on the simulator's clock; prints what it publishes."""

    def __init__(self) -> None:
        import boto3

        from trail_import_handler.monitor import StateTable

        boto3.client("dynamodb").create_table(
            TableName="demo-import-monitor", KeySchema=[{"AttributeName": "ImportId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "ImportId", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        self.state = StateTable("demo-import-monitor", boto3.client("dynamodb"))
        self.events = boto3.client("events")
        self.published: list[dict[str, Any]] = []

    def __call__(self) -> None:
        from trail_import_handler import cloudtrail, monitor

        checked = monitor.check(cloudtrail.client(), self.state, self.events, first_failures=5,
                                lease=monitor.DEFAULT_LEASE, metrics=lambda _: None)
        for event in checked.published:
            self.published.append(event)
            print(f"  monitor event {event['eventId']}: {event['previousStatus']} -> {event['status']}"
                  f"{' (inferred)' if event['inferred'] else ''}; {event['message']}")


def main() -> None:
    with mock_aws(config=MOTO_CONFIG):
        play()


def play() -> None:
    template = synthesize()
    logical_id, resource = next((k, r) for k, r in template["Resources"].items()
                                if r["Type"] == "Custom::CloudTrailLakeImport")
    sim = CloudTrailImportSimulator()
    props = Resolver(sim, template)(resource["Properties"])
    print(f"Synthesized {STACK}: {logical_id} (Custom::CloudTrailLakeImport)")
    for key, value in props.items():
        print(f"  {key:<22} {value}")
    plan = preflight_plan(trail_bucket(props), props)
    sim.plan_next_import(plan)
    verified(props, plan)
    from trail_import_handler import provider

    def progress(call: int) -> None:
        if call % 10 == 0:
            checks()
        if call % 4:
            return
        for imp in sim.imports.values():
            stats = imp.statistics(sim.now)
            print(f"  [{call * 30 // 60:>3} min] {imp.status(sim.now):<13} prefixes {stats['PrefixesCompleted']}/"
                  f"{stats['PrefixesFound']}  files {stats['FilesCompleted']}  events {stats['EventsCompleted']}  "
                  f"failed {stats['FailedEntries']}")

    base = {"StackId": f"arn:aws:cloudformation:{sim.region}:{sim.account}:stack/{STACK}/demo",
            "LogicalResourceId": logical_id, "ResourceType": resource["Type"], "ResourceProperties": props}
    with default_session(sim):
        checks = MonitorChecks()
        checks()
        framework = ProviderFramework(provider.on_event, provider.is_complete, advance=sim.advance,
                                      total_timeout=3300, observe=progress)
        print("\nCREATE_IN_PROGRESS")
        created = framework.request({**base, "RequestType": "Create", "RequestId": "demo-create"}).response
        print(f"CREATE {created['Status']}  physical id {created['PhysicalResourceId']}  {created.get('Reason', '')}")
        for key, value in (created.get("Data") or {}).items():
            print(f"  Fn::GetAtt {logical_id}.{key:<18} {value}")
        checks()
        print(f"ImportMonitor published {len(checks.published)} events: "
              + ", ".join(e["status"] for e in checks.published))
        print("\nDELETE_IN_PROGRESS")
        deleted = framework.request({**base, "RequestType": "Delete", "RequestId": "demo-delete",
                                     "PhysicalResourceId": created["PhysicalResourceId"]}).response
        print(f"DELETE {deleted['Status']}; imported events stay in the event data store.")


if __name__ == "__main__":
    main()
