#!/usr/bin/env python3
"""Example app: import a trail bucket into CloudTrail Lake, a ServiceToken for plain templates, and the
registered resource type with a backfill of the years before, which may take longer than a custom resource waits.

Context keys (cdk.json, or ``-c key=value``):

- ``sourceBucket``: bucket that holds the trail logs (default ``my-trail-logs``)
- ``sourcePrefix``: key prefix of the logs (default: none)
- ``eventDataStoreArn``: destination; default: a new event data store with ingestion off
- ``startTime``, ``endTime``: ISO 8601 window with an offset (default 2024-01-01Z to 2025-01-01Z)
"""

from __future__ import annotations

from datetime import datetime

import aws_cdk as cdk
from aws_cdk import aws_cloudtrail, aws_s3

from cloudtrail_lake_import import (
    ArchiveVerification,
    ImportMonitor,
    ResourceTypeRegistration,
    StandaloneImportProvider,
    TrailImport,
)


class TrailArchiveImportStack(cdk.Stack):
    """Imports one trail bucket's logs into a CloudTrail Lake event data store."""

    def __init__(self, scope: cdk.App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        context = self.node.try_get_context
        bucket = aws_s3.Bucket.from_bucket_name(self, "TrailLogs", context("sourceBucket") or "my-trail-logs")
        destination: aws_cloudtrail.CfnEventDataStore | str = context("eventDataStoreArn") or ""
        if not destination:
            # A store for copies only: ingestion off, so no live event is also imported twice.
            destination = aws_cloudtrail.CfnEventDataStore(
                self, "Archive", name="trail-archive", ingestion_enabled=False, retention_period=2557,
                termination_protection_enabled=True,
            )
        # Status-change events, progress metrics and a dashboard, for this import and any other of the account.
        monitor = ImportMonitor.of(self)
        # The archive proved before it is copied: the digest chain and every log file of the window, on Step
        # Functions Distributed Map; an archive that is not intact fails the deploy and is never imported.
        verification = ArchiveVerification(self, "Verification", source_bucket=bucket,
                                           source_prefix=context("sourcePrefix"))
        imported = TrailImport(
            self, "TrailImport",
            monitor=monitor,
            verify=verification,
            event_data_store=destination,
            source_bucket=bucket,
            source_prefix=context("sourcePrefix"),
            start_time=datetime.fromisoformat(context("startTime") or "2024-01-01T00:00:00Z"),
            end_time=datetime.fromisoformat(context("endTime") or "2025-01-01T00:00:00Z"),
        )
        cdk.CfnOutput(self, "ImportId", value=imported.import_id)
        cdk.CfnOutput(self, "EventsCompleted", value=imported.events_completed)
        assert imported.verification is not None
        cdk.CfnOutput(self, "VerificationReport", value=imported.verification.report_uri)
        self.bucket = bucket
        self.destination_arn = imported.destination_arn


class ImportResourceTypeStack(cdk.Stack):
    """Registers the import resource type in the account and region: deploy it before any stack that uses it."""

    def __init__(self, scope: cdk.App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        bucket = aws_s3.Bucket.from_bucket_name(self, "TrailLogs",
                                                self.node.try_get_context("sourceBucket") or "my-trail-logs")
        self.registration = ResourceTypeRegistration(self, "ImportType", preflight_buckets=[bucket])


class TrailArchiveBackfillStack(cdk.Stack):
    """The years before: an import that may outlast a custom resource's hour, as a resource of the registered type."""

    def __init__(self, scope: cdk.App, construct_id: str, *, archive: TrailArchiveImportStack,
                 resource_type: ResourceTypeRegistration, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        backfill = TrailImport(
            self, "Backfill",
            resource_type=resource_type,
            event_data_store=archive.destination_arn,
            source_bucket=aws_s3.Bucket.from_bucket_name(self, "TrailLogs", archive.bucket.bucket_name),
            source_prefix=self.node.try_get_context("sourcePrefix"),
            start_time=datetime.fromisoformat("2019-01-01T00:00:00Z"),
            end_time=datetime.fromisoformat(self.node.try_get_context("startTime") or "2024-01-01T00:00:00Z"),
        )
        cdk.CfnOutput(self, "ImportId", value=backfill.import_id)
        cdk.CfnOutput(self, "EventsCompleted", value=backfill.events_completed)


class ImportServiceTokenStack(cdk.Stack):
    """Deploys the crhelper-backed handler and exports its ARN as a ServiceToken."""

    def __init__(self, scope: cdk.App, construct_id: str, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        provider = StandaloneImportProvider(self, "Provider")
        cdk.CfnOutput(self, "ServiceToken", value=provider.service_token,
                      export_name="CloudTrailLakeImportServiceToken")


def build(app: cdk.App) -> None:
    """Add the example stacks to ``app``."""
    archive = TrailArchiveImportStack(app, "TrailArchiveImport")
    ImportServiceTokenStack(app, "CloudTrailLakeImportServiceToken")
    registered = ImportResourceTypeStack(app, "CloudTrailLakeImportType")
    TrailArchiveBackfillStack(app, "TrailArchiveBackfill", archive=archive, resource_type=registered.registration)


if __name__ == "__main__":
    # Creation stack traces would point into jsii's JavaScript runtime, not into this file: a Python app's
    # annotations read better without them (AppProps.stackTraces).
    app = cdk.App(stack_traces=False)
    build(app)
    app.synth()
