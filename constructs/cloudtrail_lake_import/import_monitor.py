"""ImportMonitor: status-change events, progress metrics, a dashboard and notifications for the account's imports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import (
    Duration,
    RemovalPolicy,
    Stack,
    aws_cloudwatch,
    aws_dynamodb,
    aws_events,
    aws_events_targets,
    aws_iam,
    aws_logs,
    aws_s3,
    aws_sns,
)
from constructs import Construct

from trail_import_handler.monitor import DETAIL_TYPE, FAILURES_ENV, NAMESPACE, REPORTS_ENV, SOURCE, TABLE_ENV
from trail_import_handler.reconciliation import WINDOWS

from ._asset import handler_code
from ._function import handler_function
from ._nag import acknowledge, acknowledge_wildcard
from ._prop_types import DURATION, WHOLE, check

if TYPE_CHECKING:
    from .archive_verification import ArchiveVerification
    from .trail_import import TrailImport

STATUSES = ("INITIALIZING", "IN_PROGRESS", "COMPLETED", "FAILED", "STOPPED")


class ImportMonitor(Construct):
    """Watches the account's CloudTrail Lake imports, which CloudTrail itself announces nowhere.

    On a schedule, a function reads the imports (ListImports; GetImport only for
    those running or changed) and publishes, on the default event bus, one
    event per status change (source ``cdk-cloudtrail-lake-import``, detail-type
    ``CloudTrail Lake Import Status Change``) with the import, its destination,
    source and window, the previous and new status, the statistics and the
    first failures. It writes the running imports' progress as CloudWatch
    metrics (embedded metric format, namespace ``CloudTrailLakeImport``) and
    keeps a dashboard of them. ``notify`` sends chosen changes to an SNS topic
    as a sentence; any other target subscribes with ``event_pattern``.

    Use ``ImportMonitor.of(scope)``: one per stack is enough for an account
    and region.
    """

    def __init__(self, scope: Construct, construct_id: str, *, schedule: Duration | None = None,
                 first_failures: int = 5) -> None:
        """
        :param schedule: how often the imports are checked. Default: every 5 minutes.
        :param first_failures: how many failures a FAILED import's event carries. Default: 5.
        """
        super().__init__(scope, construct_id)
        check("schedule", schedule, DURATION)
        check("first_failures", first_failures, WHOLE, required=True)
        schedule = schedule or Duration.minutes(5)
        self._notifications = 0
        if not 1 <= first_failures <= 25:
            raise ValueError(f"first_failures must be from 1 to 25; got {first_failures}")
        self.table = aws_dynamodb.TableV2(
            self, "State",
            partition_key=aws_dynamodb.Attribute(name="ImportId", type=aws_dynamodb.AttributeType.STRING),
            billing=aws_dynamodb.Billing.on_demand(), point_in_time_recovery_specification=(
                aws_dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)),
            removal_policy=RemovalPolicy.DESTROY,
        )
        """The monitor's state: the last status of each import, and events not yet published."""
        role = aws_iam.Role(self, "Role", assumed_by=aws_iam.ServicePrincipal("lambda.amazonaws.com"),
                            description="CloudTrail Lake import monitor")
        # The Service Authorization Reference gives these three no resource type: '*' is the only match.
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["cloudtrail:ListImports", "cloudtrail:GetImport", "cloudtrail:ListImportFailures"],
            resources=["*"]))
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["events:PutEvents"],
            resources=[Stack.of(self).format_arn(service="events", resource="event-bus", resource_name="default")]))
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
            resources=[self.table.table_arn]))
        self.function = handler_function(
            self, "Check", log_group_id="Logs", handler="trail_import_handler.monitor.handler", code=handler_code(),
            role=role, timeout=Duration.minutes(2),
            environment={TABLE_ENV: self.table.table_name, FAILURES_ENV: str(first_failures)},
            # No reserved concurrency: it fails the deploy where the account's quota leaves fewer than 100 executions
            # unreserved (PutFunctionConcurrency); overlapping checks publish each change once by the table's leases.
            description="CloudTrail Lake import monitor: status-change events and progress metrics",
        )
        """The function that checks the account's imports on the schedule and publishes their changes."""
        aws_events.Rule(self, "Schedule", schedule=aws_events.Schedule.rate(schedule),
                        targets=[aws_events_targets.LambdaFunction(self.function, retry_attempts=2)],
                        description="Checks the CloudTrail Lake imports of this account and region")
        self.dashboard = aws_cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(1))
        """Progress of every import (events, files, prefixes, failed entries) and their status changes."""
        self.dashboard.add_widgets(*_progress_widgets(), _status_widget(self.function.log_group))
        self._role = role
        self._report_buckets: list[aws_s3.IBucket] = []
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]",
                    "ListImports, GetImport and ListImportFailures have no resource type in the Service "
                    "Authorization Reference: '*' is the only resource AWS matches for them (read-only).")

    @classmethod
    def of(cls, scope: Construct) -> ImportMonitor:
        """The stack's monitor, made on first use."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child("CloudTrailLakeImportMonitor")
        return existing if isinstance(existing, ImportMonitor) else cls(stack, "CloudTrailLakeImportMonitor")

    @staticmethod
    def event_pattern(statuses: Sequence[str] | None = None) -> aws_events.EventPattern:
        """The pattern of the monitor's events, for any EventBridge rule; ``statuses`` narrows it."""
        _check_statuses(statuses)
        detail = {"status": list(statuses)} if statuses else None
        return aws_events.EventPattern(source=[SOURCE], detail_type=[DETAIL_TYPE], detail=detail)

    def notify(self, topic: aws_sns.ITopic, statuses: Sequence[str] = ("COMPLETED", "FAILED", "STOPPED")) -> None:
        """Send the changes to ``statuses`` to ``topic``, each as a person's sentence (import, status, counts,
        and the first failure)."""
        self._notifications += 1
        rule = aws_events.Rule(self, f"Notify{self._notifications}", event_pattern=self.event_pattern(statuses),
                               description=f"CloudTrail Lake import changes to {', '.join(statuses)}")
        rule.add_target(aws_events_targets.SnsTopic(
            topic, message=aws_events.RuleTargetInput.from_event_path("$.detail.message")))

    def watch(self, trail_import: TrailImport) -> None:
        """A dashboard row for one import: its events and files as they grow. For an import with ``verify``,
        its ended event also sets the verification's counts beside the import's (``detail.verified``)."""
        if trail_import.archive_verification is not None:
            self.read_verifications(trail_import.archive_verification)
        metrics = [aws_cloudwatch.Metric(namespace=NAMESPACE, metric_name=name, statistic="Maximum",
                                         period=Duration.minutes(5),
                                         dimensions_map={"Destination": trail_import.destination_arn,
                                                         "ImportId": trail_import.import_id})
                   for name in ("EventsCompleted", "FilesCompleted")]
        self.dashboard.add_widgets(aws_cloudwatch.GraphWidget(
            title=f"Import {trail_import.node.path}", left=[metrics[0]], right=[metrics[1]], width=24))


    def read_verifications(self, verification: ArchiveVerification) -> None:
        """Set the counts of ``verification``'s windows beside those of the imports of the same source and window
        when they end (``detail.verified`` of the COMPLETED, FAILED or STOPPED event): for imports that are not
        ``TrailImport(verify=...)``, such as a template's of the registry type. The check may read, in the
        verification's report bucket, only the object it keeps per whole window."""
        bucket = verification.report_bucket
        if any(b is bucket for b in self._report_buckets):
            return
        self._report_buckets.append(bucket)
        # Set again with each bucket: the last value holds them all.
        self.function.add_environment(REPORTS_ENV, ",".join(b.bucket_name for b in self._report_buckets))
        kept = bucket.arn_for_objects(f"{WINDOWS}*")
        self._role.add_to_policy(aws_iam.PolicyStatement(actions=["s3:GetObject"], resources=[kept]))
        if bucket.encryption_key is not None:
            bucket.encryption_key.grant(self._role, "kms:Decrypt")
        acknowledge_wildcard(self._role, kept, "The counts ArchiveVerification keeps of each whole window it "
                             "verified, one object per source and window, read when an import of it ends.")


def _progress_widgets() -> list[aws_cloudwatch.IWidget]:
    def search(name: str) -> aws_cloudwatch.MathExpression:
        return aws_cloudwatch.MathExpression(
            expression=f"SEARCH('{{{NAMESPACE},Destination,ImportId}} MetricName=\"{name}\"', 'Maximum', 300)",
            label=name, using_metrics={}, period=Duration.minutes(5))

    return [aws_cloudwatch.GraphWidget(title=title, left=[search(name)], width=12)
            for title, name in (("Events imported", "EventsCompleted"), ("Files imported", "FilesCompleted"),
                                ("Prefixes completed", "PrefixesCompleted"), ("Failed entries", "FailedEntries"))]


def _status_widget(log_group: aws_logs.ILogGroup) -> aws_cloudwatch.IWidget:
    return aws_cloudwatch.LogQueryWidget(
        title="Imports seen by the last checks", log_group_names=[log_group.log_group_name], width=24,
        query_lines=["fields @timestamp, ImportId, ImportStatus, EventsCompleted, FilesCompleted, FailedEntries",
                     "filter ispresent(ImportStatus)", "sort @timestamp desc", "limit 50"])


def _check_statuses(statuses: Sequence[str] | None) -> None:
    unknown = [s for s in statuses or () if s not in STATUSES]
    if unknown:
        raise ValueError(f"statuses must be among {', '.join(STATUSES)}; got {unknown}")
