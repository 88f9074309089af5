"""The handlers' roles as the constructs synthesize them, deployed into the IAM model every handler test runs under.

One app holds what the scenarios need: the ImportProvider and the
StandaloneImportProvider with their handler roles, the ImportMonitor's role,
the registry type's execution role (ResourceTypeRegistration), and one access role per
source bucket the scenarios read (``trail-logs`` and ``other-logs``), made
by ImportAccessRole for any event data store of the account, since the
scenarios import into more than one.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass
from typing import Any

from cloudtrail_lake_import.testing import Deployment, IamWorld
from tests.driver import OTHER_ROLE_ARN, ROLE_ARN
from tests.syntheses import kept

ACCOUNT, REGION = "111122223333", "us-east-1"
STORE_ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:eventdatastore/trail-archive"


@dataclass(frozen=True)
class HandlerRoles:
    """The synthesized template and the ARNs the handlers run as."""

    template: dict[str, Any]
    provider_role: str
    standalone_role: str
    standalone_function: str
    monitor_role: str
    monitor_table: str
    registry_role: str
    monitor_reports: str
    """The report bucket of the ArchiveVerification of ``trail-logs`` whose windows the monitor reads."""

    def world(self) -> IamWorld:
        """A fresh IAM model of the account with this template deployed."""
        world = IamWorld(default_account=ACCOUNT)
        world.load(self.template, account=ACCOUNT, region=REGION)
        return world


def synthesize() -> HandlerRoles:
    """The roles, kept under SYNTHESES_DIR when it is set (tests/syntheses.py): they change only with the
    constructs."""
    return HandlerRoles(**kept("handler-roles", lambda: asdict(_synthesize())))


def _synthesize() -> HandlerRoles:
    # Imported here: aws_cdk starts jsii's Node, which a run that reads the roles from the file never needs (the
    # mutation run forks workers from its test process, and a Node child of that process stops it).
    import aws_cdk as cdk
    from aws_cdk import aws_s3
    from aws_cdk.assertions import Template

    from cloudtrail_lake_import import (
        ArchiveVerification,
        ImportAccessRole,
        ImportMonitor,
        ResourceTypeRegistration,
        StandaloneImportProvider,
        TrailImport,
    )

    app = cdk.App(outdir=tempfile.mkdtemp(prefix="handler-roles-"))
    stack = cdk.Stack(app, "HandlerRoles", env=cdk.Environment(account=ACCOUNT, region=REGION))
    for bucket_name, role_arn in (("trail-logs", ROLE_ARN), ("other-logs", OTHER_ROLE_ARN)):
        bucket = aws_s3.Bucket.from_bucket_name(stack, bucket_name, bucket_name)
        access = ImportAccessRole(stack, f"{bucket_name}-access", source_bucket=bucket,
                                  role_name=role_arn.rsplit("/", 1)[-1])
        TrailImport(stack, f"{bucket_name}-import", event_data_store=STORE_ARN, source_bucket=bucket,
                    access_role=access.role)
    standalone = StandaloneImportProvider(stack, "Standalone")
    monitor = ImportMonitor.of(stack)
    verification = ArchiveVerification(stack, "Verification", source_bucket=aws_s3.Bucket.from_bucket_name(
        stack, "trail-logs-verified", "trail-logs"), source_prefix="org-trail")
    monitor.read_verifications(verification)
    # The resource type, allowed to pass the scenarios' access roles and to read their buckets in the preflight.
    ResourceTypeRegistration(stack, "ImportType", access_role_arns=[ROLE_ARN, OTHER_ROLE_ARN],
                             preflight_buckets=[aws_s3.Bucket.from_bucket_name(stack, f"{b}-preflight", b)
                                                for b in ("trail-logs", "other-logs")])
    template = dict(Template.from_stack(stack).to_json())
    deployment = Deployment(template, account=ACCOUNT, region=REGION)

    def role_of(fragment: str) -> str:
        (logical,) = [k for k, r in template["Resources"].items()
                      if r["Type"] == "AWS::IAM::Role" and fragment in k]
        return deployment.arn(logical)

    return HandlerRoles(
        template=template,
        provider_role=role_of("HandlerRole"),
        standalone_role=role_of("StandaloneRole"),
        standalone_function=str(deployment.resolve(stack.resolve(standalone.function.function_name))),
        monitor_role=role_of("MonitorRole"),
        monitor_table=str(deployment.resolve(stack.resolve(monitor.table.table_name))),
        registry_role=role_of("ImportTypeExecutionRole"),
        monitor_reports=str(deployment.resolve(stack.resolve(verification.report_bucket.bucket_name))),
    )


def admin_client(service: str) -> Any:
    """A client of the test itself, outside the handler's IAM: for setting up and inspecting the world."""
    import boto3

    return boto3.Session(region_name=REGION).client(service)  # type: ignore[call-overload]
