"""ArchiveVerification's state machine, as synthesized, run on moto's Step Functions interpreter over archives in
moto's S3: each Lambda task answered by the handler module in-process, as the role the template gives it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from cloudtrail_lake_import.testing import (
    MOTO_CONFIG,
    CloudTrailImportSimulator,
    IamWorld,
    SignedArchive,
    default_session,
)
from tests.engine import Engine
from trail_import_handler.verification import Archive, PublicKeys, verify

ACCOUNT, REGION, BUCKET = "111122223333", "us-east-1", "trail-logs"
START = datetime(2024, 3, 1, tzinfo=UTC)
WINDOW = {"start": "2024-03-01T00:00:00Z", "end": "2024-03-03T00:00:00Z"}
ORGANIZATION = "o-a1b2c3d4e5"


def _template(**props: Any) -> dict[str, Any]:
    import aws_cdk as cdk
    from aws_cdk import aws_s3
    from aws_cdk.assertions import Template

    from cloudtrail_lake_import import ArchiveVerification

    app = cdk.App()
    stack = cdk.Stack(app, "Verified", env=cdk.Environment(account=ACCOUNT, region=REGION))
    ArchiveVerification(stack, "Verification", source_bucket=aws_s3.Bucket.from_bucket_name(stack, "Logs", BUCKET),
                        max_concurrency=4, **props)
    return dict(Template.from_stack(stack).to_json())


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _template()


@pytest.fixture
def engine(template: dict[str, Any]) -> Iterator[Engine]:
    simulator = CloudTrailImportSimulator()
    world = IamWorld(default_account=ACCOUNT)
    world.load(template, account=ACCOUNT, region=REGION)
    world.add_bucket(BUCKET, account=ACCOUNT)
    config: Any = {**MOTO_CONFIG, "stepfunctions": {"execute_state_machine": True}}
    with mock_aws(config=config), default_session(simulator):
        boto3.client("s3", region_name=REGION).create_bucket(Bucket=BUCKET)
        with Engine(template, world, simulator, account=ACCOUNT, region=REGION).deployed() as deployed:
            yield deployed


def _archive(engine: Engine, **options: Any) -> SignedArchive:
    archive = SignedArchive(boto3.client("s3", region_name=REGION), BUCKET, **options)
    engine.simulator.public_keys.append(archive.key.entry())
    return archive


def _summary(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["status"] == "SUCCEEDED", (answer.get("error"), answer.get("cause"))
    summary: dict[str, Any] = json.loads(answer["output"])
    return summary


def _report(engine: Engine, summary: dict[str, Any]) -> dict[str, Any]:
    bucket, key = summary["reportUri"].removeprefix("s3://").split("/", 1)
    report: dict[str, Any] = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=bucket, Key=key)["Body"].read())
    return report


def _whole(engine: Engine, prefix: str = "") -> dict[str, Any]:
    """What the verify command's core finds over the whole window from one machine."""
    keys = PublicKeys.from_answer([{"PublicKeyList": engine.simulator.public_keys}])
    window = Archive(BUCKET, prefix, START, START + timedelta(days=2))
    return verify(boto3.client("s3", region_name=REGION), lambda region: keys, window).as_dict()


def test_a_clean_archive_is_intact_and_counted_as_from_one_machine(engine: Engine) -> None:
    archive = _archive(engine)
    archive.write([ACCOUNT], [REGION, "eu-west-1"], START - timedelta(hours=3), 48 + 6)
    summary = _summary(engine.run(engine.state_machine(), WINDOW))
    # In each of two regions, 49 digests: the 48 that begin in the window's 48 hours and the one from 23:07 before
    # it; each names one log file, that of 23:37 before the window too, of 3 events each.
    assert summary["intact"] is True
    assert (summary["digestsVerified"], summary["logFilesVerified"], summary["eventsInWindow"]) == \
        (2 * 49, 2 * 49, 2 * 48 * 3)
    assert summary["problems"] == 0
    assert summary["firstProblems"] == []
    report = _report(engine, summary)
    assert report["report"] == _whole(engine)
    assert report["request"] == {**WINDOW, "accounts": [], "regions": []}
    # Two slices of two days: one plan, four pieces, two roll-ups, one summary.
    steps = [payload["step"] for _, payload in engine.invocations]
    assert sorted(steps) == ["plan", "roll-up", "roll-up", "summarize", "verify", "verify", "verify", "verify"]
