#!/usr/bin/env python3
"""Cross-account import: an organization trail bucket in a log-archive account, imported from the management account.

Two stacks, one environment each. ``LogArchive`` owns the bucket and its KMS
key and grants the management account's access role what the CloudTrail
User Guide asks for, in the bucket and key policies. ``TrailImportManagement``
(the organization's management account: only it may import into an
organization event data store) owns the event data store, the access role
and the import. Deploy them in that order (``cdk deploy --all`` follows the
dependency); the grants name the access role by ARN before it exists, so the
log-archive stack deploys first.

    npx cdk synth --app "python examples/cross_account.py"
"""

from __future__ import annotations

from datetime import UTC, datetime

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail, aws_kms, aws_s3

from cloudtrail_lake_import import TrailImport

LOG_ARCHIVE = cdk.Environment(account="444455556666", region="us-east-1")
MANAGEMENT = cdk.Environment(account="111122223333", region="us-east-1")
BUCKET_NAME = "org-trail-logs-444455556666"


class LogArchiveStack(cdk.Stack):
    """The organization trail's bucket and key, in the log-archive account."""

    def __init__(self, scope: cdk.App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        # Server access logs delivered under a bucket policy, so that ACLs stay disabled everywhere.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        self.key = aws_kms.Key(self, "TrailKey", enable_key_rotation=True,
                               description="Encrypts the organization trail's log files")
        access_logs = aws_s3.Bucket(
            self, "AccessLogs", enforce_ssl=True, block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=aws_s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        )
        cdk.Validations.of(access_logs).acknowledge(cdk.Acknowledgment(
            id="AwsSolutions-S1", reason="This bucket receives the trail bucket's server access logs; logging its "
                                        "own access would loop."))
        # CloudTrail reads only from buckets with ACLs disabled (BucketOwnerEnforced).
        self.bucket = aws_s3.Bucket(
            self, "TrailLogs", bucket_name=BUCKET_NAME, encryption_key=self.key, enforce_ssl=True,
            object_ownership=aws_s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL,
            server_access_logs_bucket=access_logs, server_access_logs_prefix="trail-logs/",
        )


class ManagementImportStack(cdk.Stack):
    """The event data store and the import, in the organization's management account."""

    def __init__(self, scope: cdk.App, construct_id: str, *, archive: LogArchiveStack, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        store = aws_cloudtrail.CfnEventDataStore(
            self, "OrgArchive", name="org-trail-archive", ingestion_enabled=False, organization_enabled=True,
            retention_period=2557, termination_protection_enabled=True,
        )
        self.trail_import = TrailImport(
            self, "OrgTrail2024",
            event_data_store=store,
            source_bucket=archive.bucket,  # its bucket and key policies get the access role's statements
            source_prefix="org-trail",
            start_time=datetime(2024, 1, 1, tzinfo=UTC),
            end_time=datetime(2025, 1, 1, tzinfo=UTC),
        )
        self.add_stack_dependency(archive, "the bucket and key policies must allow the access role first")
        cdk.CfnOutput(self, "ImportId", value=self.trail_import.import_id)


def build(app: cdk.App) -> tuple[LogArchiveStack, ManagementImportStack]:
    """Add both stacks to ``app``."""
    archive = LogArchiveStack(app, "LogArchive", env=LOG_ARCHIVE)
    return archive, ManagementImportStack(app, "TrailImportManagement", archive=archive, env=MANAGEMENT)


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
