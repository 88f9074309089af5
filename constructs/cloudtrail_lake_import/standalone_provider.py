"""StandaloneImportProvider: a crhelper-backed function whose ARN serves plain CloudFormation templates."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack, aws_iam
from constructs import Construct

from ._asset import crhelper_code
from ._function import handler_function
from ._handler_iam import IMPORT_ACTIONS_REASON, import_actions, pass_access_roles, read_destinations
from ._nag import acknowledge_wildcard


class StandaloneImportProvider(Construct):
    """One Lambda function that serves ``Custom::CloudTrailLakeImport`` in any template of the account.

    Templates use ``function.function_arn`` as ServiceToken. crhelper answers
    CloudFormation and polls through an EventBridge rule that it creates and
    removes itself, once a minute.
    """

    def __init__(self, scope: Construct, construct_id: str, *, access_role_name_prefix: str = "") -> None:
        """
        :param access_role_name_prefix: the function may pass only roles whose name starts with this
            prefix to CloudTrail. Default: any role of the account, to CloudTrail only.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        role = aws_iam.Role(self, "Role", assumed_by=aws_iam.ServicePrincipal("lambda.amazonaws.com"),
                            description="CloudTrail Lake import handler for plain CloudFormation templates")
        access_roles = stack.format_arn(service="iam", region="", resource="role",
                                        resource_name=f"{access_role_name_prefix}*")
        rules = stack.format_arn(service="events", resource="rule", resource_name="*")
        buckets = stack.format_arn(service="s3", region="", account="", resource="*")
        stores = stack.format_arn(service="cloudtrail", resource="eventdatastore", resource_name="*")
        wildcards = [
            ("*", IMPORT_ACTIONS_REASON),
            (stores, "The preflight reads the settings of destinations that templates name after this function is "
                     "deployed (cloudtrail:GetEventDataStore, read-only)."),
            (access_roles, "Templates name their access roles after this function is deployed; the pass is to "
                           "cloudtrail.amazonaws.com only, and access_role_name_prefix narrows it."),
            (rules, "crhelper names its polling rules at run time (logical id plus 8 random characters)."),
            (buckets, "The preflight reads the location, ownership and listing of buckets that templates name "
                      "after this function is deployed (read-only; set Preflight to false to skip it)."),
        ]
        role.add_to_policy(import_actions())
        role.add_to_policy(pass_access_roles(access_roles))
        for statement in read_destinations(stores):
            role.add_to_policy(statement)
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["s3:GetBucketLocation", "s3:GetBucketOwnershipControls", "s3:ListBucket"],
            resources=[buckets],
        ))
        # crhelper's polling rules are named after the logical id plus 8 characters.
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"],
            resources=[rules],
        ))
        function_name = f"cloudtrail-lake-import-{self.node.addr[:12]}"
        self.function = handler_function(
            self, "Function", log_group_id="Logs", function_name=function_name,
            handler="trail_import_handler.cfn.handler", code=crhelper_code(), role=role, timeout=Duration.minutes(5),
            description="CloudTrail Lake import (crhelper) for Custom::CloudTrailLakeImport",
        )
        """The crhelper-backed handler function whose ARN is the exported ServiceToken."""
        # crhelper adds and removes the EventBridge invoke permission on this function itself.
        role.add_to_policy(aws_iam.PolicyStatement(
            actions=["lambda:AddPermission", "lambda:RemovePermission"],
            resources=[stack.format_arn(service="lambda", resource="function", resource_name=function_name,
                                        arn_format=ArnFormat.COLON_RESOURCE_NAME)],
        ))
        for resource, reason in wildcards:
            acknowledge_wildcard(role, resource, reason)

    @property
    def service_token(self) -> str:
        """The ServiceToken for templates: the function's ARN."""
        return self.function.function_arn
