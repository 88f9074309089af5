"""cdk-nag's AwsSolutions checks pass, and every acknowledgement is narrow and explained."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime

import aws_cdk as cdk
import pytest
from aws_cdk import aws_kms, aws_s3
from cdk_nag import AwsSolutionsChecks

import app as example
from cloudtrail_lake_import import TrailImport
from examples import cross_account
from tests import verification_stack

# Acknowledgements outside the Provider framework's own constructs: each a wildcard IAM cannot avoid, and the
# report bucket's access log (which would log only the verification's own writes).
OWN_WILDCARDS = {
    "Verification/Reports": ["AwsSolutions-S1"],
    "Verification/Role": ["AwsSolutions-IAM5[Resource::"],
    "Verification/StateMachine": ["AwsSolutions-IAM5[Resource::"],
    "Verification/Provider55m/HandlerRole": ["AwsSolutions-IAM5[Resource::"],
    "HandlerRole": ["AwsSolutions-IAM5[Resource::*]"],
    "CloudTrailLakeImportMonitor/Role": ["AwsSolutions-IAM5[Resource::*]",
                                         "AwsSolutions-IAM5[Resource::<VerificationReports205F6937.Arn>/verifications/"
                                         "windows/*]"],
    "ImportAccess": ["AwsSolutions-IAM5[Resource::"],
    "CloudTrailLakeImportServiceToken/Provider/Role": ["AwsSolutions-IAM5[Resource::"],
    "ImportType/ExecutionRole": ["AwsSolutions-IAM5[Resource::"],
    "ImportType/LogDeliveryRole": ["AwsSolutions-IAM5[Resource::"],
}


def _checked(build: object) -> cdk.App:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="nag-"))
    build(app)  # type: ignore[operator]
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises ValidationFailed on any unacknowledged finding
    return app


def _own_stack(app: cdk.App) -> None:
    stack = cdk.Stack(app, "Owned", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    key = aws_kms.Key(stack, "LogsKey", enable_key_rotation=True)
    bucket = aws_s3.Bucket(stack, "Logs", encryption_key=key, enforce_ssl=True, server_access_logs_prefix="access/",
                           block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL)
    for year, minutes in ((2022, 55), (2023, 20)):
        TrailImport(stack, f"Import{year}", event_data_store="arn:aws:cloudtrail:eu-west-1:111122223333:"
                    "eventdatastore/archive", source_bucket=bucket, source_prefix="org",
                    start_time=datetime(year, 1, 1, tzinfo=UTC), end_time=datetime(year + 1, 1, 1, tzinfo=UTC),
                    timeout=cdk.Duration.minutes(minutes))


@pytest.mark.parametrize("build", [example.build, _own_stack, cross_account.build, verification_stack.build],
                         ids=["example-app", "bucket-in-stack-two-timeouts", "cross-account-app",
                              "archive-verification"])
def test_aws_solutions_checks_pass(build: object) -> None:
    app = _checked(build)
    assert app.node.find_all()


def test_acknowledgements_cover_framework_internals_or_a_named_wildcard_with_a_reason() -> None:
    app = cdk.App()
    example.build(app)
    key = cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    seen = 0
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != key:
                continue
            for rule, reason in dict(entry.data).items():
                seen += 1
                rule_id = rule.removeprefix("Annotation::")
                assert len(reason) > 60, f"{rule_id} on {construct.node.path} needs a reason a reviewer accepts"
                in_framework = "/Provider/" in construct.node.path + "/" and "ServiceToken" not in construct.node.path
                own = [p for paths, prefixes in OWN_WILDCARDS.items() for p in prefixes
                       if paths in construct.node.path and rule_id.startswith(p)]
                assert in_framework or own, f"unexpected acknowledgement {rule_id} on {construct.node.path}"
                assert rule_id != "AwsSolutions-IAM5", "wildcards are acknowledged one resource at a time"
    assert seen >= 10
