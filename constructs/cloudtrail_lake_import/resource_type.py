"""Registration of the CloudFormation registry resource type for imports: ``ResourceTypeRegistration``.

Permissions follow the schema's handler permissions, each scoped as the Service
Authorization Reference allows: the five import APIs and
organizations:DescribeOrganization have no resource type (``*``);
cloudtrail:GetEventDataStore takes the account's event data stores; iam:PassRole
the access roles, passed to CloudTrail only; the S3 preflight reads the buckets
named; SSM the type's own parameter path (its records, and the path itself for
List); Step Functions the verification state machines named (``VerifyWith``) and
their executions. The trust and the log delivery role follow the CloudFormation CLI's
``resource-role.yaml`` (with its confused-deputy conditions) and
``managed-upload-infrastructure.yaml``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence

from aws_cdk import (
    ArnFormat,
    Duration,
    RemovalPolicy,
    Stack,
    aws_cloudformation,
    aws_iam,
    aws_logs,
    aws_s3,
    aws_s3_assets,
)
from constructs import Construct

from . import _handler_iam, _nag, _type_package
from ._prop_types import BUCKET, TEXT, check, each
from .archive_verification import STATE_MACHINE_NAME_PREFIX

DEFAULT_TYPE_NAME = "TrailLogs::CloudTrailLake::Import"
ACCESS_ROLE_PATH = "/cloudtrail-lake-import/"
"""The IAM path of access roles that TrailImport makes for a resource type: the execution role may pass them."""


class ResourceTypeRegistration(Construct):
    """Registers the import resource type in this stack's account and region, as its default version.

    The type waits for an import up to 36 hours in one deploy, where a custom
    resource gives up after one hour. Register it in a stack of its own and
    deploy that first: CloudFormation rejects a template that names a type the
    registry does not know yet. Then give it to ``TrailImport(resource_type=...)``,
    or write ``Type: <type_name>`` in any template of the account and region.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        type_name: str = DEFAULT_TYPE_NAME,
        access_role_arns: Sequence[str] | None = None,
        preflight_buckets: Sequence[aws_s3.IBucket] = (),
        log_retention: aws_logs.RetentionDays = aws_logs.RetentionDays.ONE_YEAR,
        verification_state_machine_names: Sequence[str] | None = None,
    ) -> None:
        """
        :param type_name: the three-part name to register, such as ``MyOrg::CloudTrailLake::Import``.
            Default: ``TrailLogs::CloudTrailLake::Import``.
        :param access_role_arns: the roles CloudTrail may be given to read sources (iam:PassRole, to CloudTrail
            only). Default: every role under the path ``/cloudtrail-lake-import/``, where TrailImport puts the
            access roles it makes for a resource type.
        :param preflight_buckets: the source buckets whose region, ACL setting and log files the preflight may
            read. Default: none; the preflight's reads of other buckets are denied and only logged as warnings.
        :param log_retention: how long the handlers' logs are kept. Default: one year.
        :param verification_state_machine_names: the state machines a resource's ``VerifyWith`` may name, which
            its Create starts and its Delete may stop: names in this account and region, ``*`` allowed. Empty:
            the type verifies nothing. Default: those of every ``ArchiveVerification``, whose state machines are
            named ``CloudTrailLakeVerification-...``.
        """
        super().__init__(scope, construct_id)
        check("type_name", type_name, TEXT, required=True)
        check("access_role_arns", access_role_arns, each(TEXT))
        check("verification_state_machine_names", verification_state_machine_names, each(TEXT))
        check("preflight_buckets", preflight_buckets, each(BUCKET), required=True)
        check("log_retention", log_retention, ("an aws_logs.RetentionDays, such as RetentionDays.ONE_YEAR",
                                               lambda value: isinstance(value, aws_logs.RetentionDays)), required=True)
        stack = Stack.of(self)
        parts = type_name.split("::")
        if len(parts) != 3 or not all(p.isalnum() for p in parts) or parts[0] in ("AWS", "Alexa", "Custom", "Dev"):
            raise ValueError(f"type_name: expected three alphanumeric parts such as MyOrg::CloudTrailLake::Import, "
                             f"not an AWS-reserved namespace; got {type_name!r}.")
        self.type_name = type_name
        """The registered type name, for ``Type:`` in templates."""
        machines = (f"{STATE_MACHINE_NAME_PREFIX}*",) if verification_state_machine_names is None \
            else tuple(verification_state_machine_names)
        self.verification_state_machine_names = machines
        """The names of the state machines the type may start to verify a window, ``*`` allowed."""
        source_arn = stack.format_arn(service="cloudformation", resource="type/resource",
                                      resource_name="-".join(parts) + "/*",
                                      arn_format=ArnFormat.SLASH_RESOURCE_NAME)
        schema = _type_package.schema(type_name)
        self.execution_role = aws_iam.Role(
            self, "ExecutionRole",
            assumed_by=aws_iam.ServicePrincipal("resources.cloudformation.amazonaws.com", conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "StringLike": {"aws:SourceArn": source_arn},
            }),
            max_session_duration=_MAX_SESSION,
            description=f"Assumed by CloudFormation to run the handlers of {type_name}.",
        )
        """The role the handlers run as: the schema's handler permissions, each as narrow as IAM allows."""
        self._permissions(stack, type_name, access_role_arns, preflight_buckets)
        self._verification_permissions(stack, machines)
        self.handler_permissions = sorted({p for h in schema["handlers"].values()
                                           for p in h["permissions"]})
        """Every action the schema's handlers declare."""

        self.log_group = aws_logs.LogGroup(self, "Logs", retention=log_retention,
                                           removal_policy=RemovalPolicy.RETAIN)
        """Where the handlers log."""
        log_role = self._log_delivery_role(stack, type_name)

        package = aws_s3_assets.Asset(self, "HandlerPackage", path=_type_package.package(type_name))
        self.version = aws_cloudformation.CfnResourceVersion(
            self, "Version",
            type_name=type_name,
            schema_handler_package=package.s3_object_url,
            execution_role_arn=self.execution_role.role_arn,
            logging_config=aws_cloudformation.CfnResourceVersion.LoggingConfigProperty(
                log_group_name=self.log_group.log_group_name, log_role_arn=log_role.role_arn),
        )
        """The registered version."""
        self.version.node.add_dependency(self.execution_role, log_role)
        default = aws_cloudformation.CfnResourceDefaultVersion(self, "DefaultVersion",
                                                               type_version_arn=self.version.attr_arn)
        self.default_version = default
        """Makes the registered version the one templates get."""

    def may_verify_with(self, state_machine_name: str) -> bool:
        """Whether a resource of the type may name this state machine as ``VerifyWith``."""
        return any(fnmatch.fnmatchcase(state_machine_name, pattern)
                   for pattern in self.verification_state_machine_names)

    def _log_delivery_role(self, stack: Stack, type_name: str) -> aws_iam.Role:
        """The role CloudFormation assumes to deliver the handlers' logs and metrics: the CloudFormation CLI's
        LogAndMetricsDeliveryRole (managed-upload-infrastructure.yaml) with its trust, actions and session length,
        the log actions on the log group that LoggingConfig names, the others on ``*`` as there."""
        role = aws_iam.Role(self, "LogDeliveryRole",
                            assumed_by=aws_iam.ServicePrincipal("resources.cloudformation.amazonaws.com"),
                            max_session_duration=Duration.hours(12),
                            description=f"Assumed by CloudFormation to deliver logs and metrics of {type_name}.")
        group = stack.format_arn(service="logs", resource="log-group", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                                 resource_name=self.log_group.log_group_name)
        # CreateLogGroup and DescribeLogStreams take the group (log-group:NAME); the stream actions its streams.
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            resources=[group, self.log_group.log_group_arn]))
        # No resource type for DescribeLogGroups; cloudwatch's metric actions, as the CLI's role, on *.
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["logs:DescribeLogGroups", "cloudwatch:ListMetrics", "cloudwatch:PutMetricData"],
            resources=["*"]))
        _nag.acknowledge_wildcard(role, "*", "logs:DescribeLogGroups has no resource type; cloudwatch:ListMetrics "
                                  "and PutMetricData on * as in the CloudFormation CLI's log delivery role.")
        _nag.acknowledge_wildcard(role, self.log_group.log_group_arn,
                                  "The log group ARN ends in :* to cover its own streams, which the handlers write.")
        return role

    def _verification_permissions(self, stack: Stack, names: Sequence[str]) -> None:
        """Start a resource's verification; follow it; stop it when its Create is rolled back."""
        if not names:
            return
        # The Service Authorization Reference: StartExecution takes the stateMachine type, DescribeExecution and
        # StopExecution the execution type (arn:...:execution:MACHINE:NAME).
        machines = [stack.format_arn(service="states", resource="stateMachine", resource_name=name,
                                     arn_format=ArnFormat.COLON_RESOURCE_NAME) for name in names]
        executions = [stack.format_arn(service="states", resource="execution", resource_name=f"{name}:*",
                                       arn_format=ArnFormat.COLON_RESOURCE_NAME) for name in names]
        self.execution_role.add_to_policy(aws_iam.PolicyStatement(
            sid="StartVerifications", actions=["states:StartExecution"], resources=machines))
        self.execution_role.add_to_policy(aws_iam.PolicyStatement(
            sid="FollowVerifications", actions=["states:DescribeExecution", "states:StopExecution"],
            resources=executions))
        for arn in (*machines, *executions):
            _nag.acknowledge_wildcard(self.execution_role, arn,
                                      "The verification state machines a resource may name (VerifyWith), and "
                                      "their executions, which are named after the resource that starts them.")

    def _permissions(self, stack: Stack, type_name: str, access_role_arns: Sequence[str] | None,
                     preflight_buckets: Sequence[aws_s3.IBucket]) -> None:
        role = self.execution_role
        role.add_to_policy(_handler_iam.import_actions())
        for statement in _handler_iam.read_destinations(
                stack.format_arn(service="cloudtrail", resource="eventdatastore", resource_name="*")):
            role.add_to_policy(statement)
        passed = list(access_role_arns) if access_role_arns is not None else [
            stack.format_arn(service="iam", region="", resource="role", resource_name=ACCESS_ROLE_PATH[1:] + "*")]
        role.add_to_policy(_handler_iam.pass_access_roles(*passed))
        if preflight_buckets:
            role.add_to_policy(aws_iam.PolicyStatement(
                actions=["s3:GetBucketLocation", "s3:GetBucketOwnershipControls", "s3:ListBucket"],
                resources=[b.bucket_arn for b in preflight_buckets]))
        path = "/".join(type_name.split("::"))
        records = stack.format_arn(service="ssm", resource="parameter", resource_name=path + "/*")
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"], resources=[records]))
        # GetParametersByPath is authorized against the path it is given, not the parameters it returns
        # (Systems Manager User Guide, "How Parameter Store authorizes parameter retrieval").
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["ssm:GetParametersByPath"],
            resources=[stack.format_arn(service="ssm", resource="parameter", resource_name=path)]))
        _nag.acknowledge_wildcard(role, "*", _handler_iam.IMPORT_ACTIONS_REASON)
        _nag.acknowledge_wildcard(role, stack.format_arn(service="cloudtrail", resource="eventdatastore",
                                                         resource_name="*"),
                                  "The type serves every event data store of its account: each resource names its "
                                  "own destination, read before StartImport.")
        _nag.acknowledge_wildcard(role, records,
                                  "The type's records under its parameter path, one parameter per resource.")
        if access_role_arns is None:
            _nag.acknowledge_wildcard(role, passed[0], "Access roles under the library's path, passed to "
                                      "cloudtrail.amazonaws.com only (iam:PassedToService).")


# As the CloudFormation CLI's resource-role.yaml: longer than one handler invocation's credentials need.
_MAX_SESSION = Duration.seconds(8400)
