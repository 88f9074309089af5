"""VerificationProvider: the onEvent and isComplete functions behind an ArchiveVerification's verified windows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import ArnFormat, Duration, Fn, Stack, aws_iam, aws_lambda, custom_resources
from constructs import Construct

from trail_import_handler.provider import WAIT_SECONDS_ENV

from ._asset import handler_code
from ._function import handler_function
from ._nag import acknowledge_wildcard
from .import_provider import QUERY_INTERVAL, acknowledge_framework

if TYPE_CHECKING:
    from .archive_verification import ArchiveVerification


class VerificationProvider(Construct):
    """The custom resource provider of one ArchiveVerification's ``Custom::CloudTrailLakeArchiveVerification``
    resources. Its role may start executions of that state machine, describe and stop them, and read the reports
    of its report bucket (to accept a finished one); nothing else."""

    def __init__(self, scope: Construct, construct_id: str, *, verification: ArchiveVerification,
                 total_timeout: Duration) -> None:
        """
        :param verification: the verification whose state machine the resources run.
        :param total_timeout: how long the provider framework waits for one verification, at most an hour.
        """
        super().__init__(scope, construct_id)
        machine = verification.state_machine
        self.role = aws_iam.Role(self, "HandlerRole", assumed_by=aws_iam.ServicePrincipal("lambda.amazonaws.com"),
                                 description="CloudTrail archive verification resource (onEvent and isComplete)")
        """The role of the provider's two handler functions."""
        executions = Stack.of(self).format_arn(
            service="states", resource="execution", arn_format=ArnFormat.COLON_RESOURCE_NAME,
            resource_name=f"{Fn.select(6, Fn.split(':', machine.state_machine_arn))}:*")
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="StartVerifications", actions=["states:StartExecution"], resources=[machine.state_machine_arn]))
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="FollowVerifications", actions=["states:DescribeExecution", "states:StopExecution"],
            resources=[executions]))
        reports = verification.report_bucket.arn_for_objects("verifications/*/report.json")
        self.role.add_to_policy(aws_iam.PolicyStatement(sid="ReadFinishedReports", actions=["s3:GetObject"],
                                                        resources=[reports]))
        if verification.report_bucket.encryption_key is not None:
            verification.report_bucket.encryption_key.grant_decrypt(self.role)
        wait = {WAIT_SECONDS_ENV: str(int(total_timeout.to_seconds()))}
        self.on_event = self._function("OnEvent", "on_event", wait)
        """The handler of Create, Update and Delete: it starts, accepts or stops a verification."""
        self.is_complete = self._function("IsComplete", "is_complete", wait)
        """The handler the provider framework polls until the verification ends (DescribeExecution)."""
        self.provider = custom_resources.Provider(
            self, "Provider", on_event_handler=self.on_event, is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL, total_timeout=total_timeout,
            # Waiter logs would hold every event, presigned ResponseURL included: keep them off.
            disable_waiter_state_machine_logging=True)
        """The provider framework's construct, whose service token the verified windows use."""
        acknowledge_wildcard(self.role, executions,
                             "The handler describes and stops the executions it started, which are named per "
                             "request: the verification state machine's executions, nothing else.")
        acknowledge_wildcard(self.role, reports,
                             "A finished verification's report, accepted for the same source and window, may be any "
                             "run's: the report bucket's verifications/RUN/report.json only.")
        acknowledge_framework(self.provider, [self.on_event, self.is_complete])

    @property
    def service_token(self) -> str:
        """The ServiceToken of ``Custom::CloudTrailLakeArchiveVerification`` resources."""
        return self.provider.service_token

    def _function(self, construct_id: str, entry: str, environment: dict[str, str]) -> aws_lambda.Function:
        return handler_function(self, construct_id, log_group_id=f"{construct_id}Logs",
                                handler=f"trail_import_handler.verification_provider.{entry}", code=handler_code(),
                                role=self.role, timeout=Duration.minutes(2), environment=environment,
                                description=f"CloudTrail archive verification: {entry}")
