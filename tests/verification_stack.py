"""An app with an ArchiveVerification of each kind, for the checks every stack must pass (cdk-nag, parliament)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_kms, aws_s3

from cloudtrail_lake_import import ArchiveVerification, ImportMonitor


def build(app: cdk.App) -> None:
    """One stack with its source bucket, SSE-KMS encrypted, and the report bucket made; one whose source and
    report buckets are imported; one whose report bucket, given, is SSE-KMS encrypted, read by an ImportMonitor."""
    owned = cdk.Stack(app, "VerifiedOwned", env=cdk.Environment(account="111122223333", region="eu-west-1"))
    key = aws_kms.Key(owned, "LogsKey", enable_key_rotation=True)
    bucket = aws_s3.Bucket(owned, "Logs", encryption_key=key, enforce_ssl=True, server_access_logs_prefix="access/",
                           block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL)
    ArchiveVerification(owned, "Verification", source_bucket=bucket, source_prefix="org-trail")
    imported = cdk.Stack(app, "VerifiedImported", env=cdk.Environment(account="111122223333", region="us-east-1"))
    ArchiveVerification(imported, "Verification",
                        source_bucket=aws_s3.Bucket.from_bucket_name(imported, "Logs", "org-trail-logs"),
                        report_bucket=aws_s3.Bucket.from_bucket_name(imported, "Reports", "audit-reports"),
                        max_concurrency=1000)
    encrypted = cdk.Stack(app, "VerifiedToKmsReports", env=cdk.Environment(account="111122223333",
                                                                         region="us-east-1"))
    reports_key = aws_kms.Key(encrypted, "ReportsKey", enable_key_rotation=True)
    reports = aws_s3.Bucket(encrypted, "Reports", encryption_key=reports_key, enforce_ssl=True,
                            server_access_logs_prefix="access/", block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL)
    verification = ArchiveVerification(encrypted, "Verification",
                                       source_bucket=aws_s3.Bucket.from_bucket_name(encrypted, "Logs",
                                                                                    "org-trail-logs"),
                                       report_bucket=reports)
    ImportMonitor(encrypted, "Monitor").read_verifications(verification)
