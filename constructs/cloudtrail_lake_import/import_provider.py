"""ImportProvider: the onEvent and isComplete functions behind every TrailImport of a stack."""

from __future__ import annotations

from aws_cdk import Duration, Stack, aws_iam, aws_lambda, aws_s3, custom_resources
from constructs import Construct

from ._asset import handler_code
from ._function import handler_function
from ._handler_iam import IMPORT_ACTIONS_REASON, import_actions, pass_access_roles, read_destinations
from ._nag import acknowledge, acknowledge_wildcard

QUERY_INTERVAL = Duration.seconds(30)
_BASIC_EXECUTION = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class ImportProvider(Construct):
    """One custom resource provider per stack and wait limit, shared by its TrailImports.

    Use ``ImportProvider.of(scope, total_timeout)`` rather than the constructor.
    Its handler role may call the CloudTrail import APIs (on ``*``, the only
    resource the Service Authorization Reference gives them) and pass only
    the access roles granted with ``grant_import``, to CloudTrail only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, total_timeout: Duration) -> None:
        """
        :param total_timeout: how long the provider framework waits for an import before it fails the resource,
            at most one hour less the time to answer (what ``TrailImport``'s ``timeout`` sets).
        """
        super().__init__(scope, construct_id)
        self.role = aws_iam.Role(
            self, "HandlerRole", assumed_by=aws_iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CloudTrail Lake import handler (onEvent and isComplete)",
        )
        """The role of the provider's two handler functions."""
        self.role.add_to_policy(import_actions())
        self._pass = pass_access_roles()
        # What was granted already, by token text: a stack's imports often share a bucket and access role.
        self._granted: set[str] = set()
        self._destinations: aws_iam.PolicyStatement | None = None
        # The handler answers before the waiter times out, with what it waited for and what it did.
        wait = {"TRAIL_IMPORT_WAIT_SECONDS": str(int(total_timeout.to_seconds()))}
        self.on_event = self._function("OnEvent", "on_event", Duration.minutes(5), wait)
        """The handler of Create, Update and Delete: it starts, adopts, resumes or stops the import."""
        self.is_complete = self._function("IsComplete", "is_complete", Duration.minutes(2), wait)
        """The handler CloudFormation's provider framework polls until the import ends (GetImport)."""
        self.provider = custom_resources.Provider(
            self, "Provider",
            on_event_handler=self.on_event,
            is_complete_handler=self.is_complete,
            query_interval=QUERY_INTERVAL,
            total_timeout=total_timeout,
            # Waiter logs would hold every event, presigned ResponseURL included: keep them off.
            disable_waiter_state_machine_logging=True,
        )
        """The provider framework's construct, whose service token the imports of this stack use."""
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", IMPORT_ACTIONS_REASON)
        acknowledge_framework(self.provider, [self.on_event, self.is_complete])

    @classmethod
    def of(cls, scope: Construct, total_timeout: Duration) -> ImportProvider:
        """The stack's provider for imports that wait at most ``total_timeout``."""
        stack = Stack.of(scope)
        minutes = int(total_timeout.to_minutes())
        construct_id = f"CloudTrailLakeImportProvider{minutes}m"
        existing = stack.node.try_find_child(construct_id)
        return existing if isinstance(existing, ImportProvider) else cls(stack, construct_id,
                                                                          total_timeout=total_timeout)

    @property
    def service_token(self) -> str:
        """The ServiceToken of ``Custom::CloudTrailLakeImport`` resources."""
        return self.provider.service_token

    def grant_import(self, access_role_arn: str) -> None:
        """Let the handler start imports that CloudTrail reads with ``access_role_arn`` (iam:PassRole)."""
        if self._first_time(f"pass:{access_role_arn}"):
            if not self._pass.has_resource:
                # A statement without a resource is invalid: it joins the policy with its first role.
                self.role.add_to_policy(self._pass)
            self._pass.add_resources(access_role_arn)

    def grant_preflight(self, bucket: aws_s3.IBucket, prefix: str, destination_arn: str) -> None:
        """Let the handler run the preflight: the destination's settings, and the bucket's location, ownership
        and log listings."""
        if self._first_time(f"destination:{destination_arn}"):
            store, organization = read_destinations(destination_arn)
            if self._destinations is None:
                self._destinations = store
                self.role.add_to_policy(store)
                self.role.add_to_policy(organization)
            else:
                self._destinations.add_resources(destination_arn)
        if not self._first_time(f"preflight:{bucket.bucket_arn}:{prefix}"):
            return
        self.role.add_to_policy(aws_iam.PolicyStatement(
            actions=["s3:GetBucketLocation", "s3:GetBucketOwnershipControls"], resources=[bucket.bucket_arn]))
        listing = aws_iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
        if prefix:
            listing.add_condition("StringLike", {"s3:prefix": [prefix, f"{prefix}/*"]})
        self.role.add_to_policy(listing)

    def _first_time(self, grant: str) -> bool:
        if grant in self._granted:
            return False
        self._granted.add(grant)
        return True

    def _function(self, construct_id: str, entry: str, timeout: Duration,
                  environment: dict[str, str]) -> aws_lambda.Function:
        return handler_function(self, construct_id, log_group_id=f"{construct_id}Logs",
                                handler=f"trail_import_handler.provider.{entry}", code=handler_code(),
                                role=self.role, timeout=timeout, environment=environment,
                                description=f"CloudTrail Lake import: {entry}")



def acknowledge_framework(provider: custom_resources.Provider, handlers: list[aws_lambda.Function]) -> None:
    """Acknowledge what cdk-nag finds in the Provider framework's own functions and waiter, and only there."""
    framework = [child for child in provider.node.find_all() if isinstance(child, aws_lambda.Function)]
    invoked = handlers + [f for f in framework if f.node.id in ("framework-isComplete", "framework-onTimeout")]
    for function in framework:
        acknowledge(function, f"AwsSolutions-IAM4[Policy::{_BASIC_EXECUTION}]",
                    "The Provider framework's own functions use AWSLambdaBasicExecutionRole, which grants "
                    "CloudWatch Logs writes only.")
    for target in invoked:
        acknowledge_wildcard(provider, f"{target.function_arn}:*",
                             "The Provider framework may invoke this function's versions (<function ARN>:*), "
                             "nothing else.")
    acknowledge(provider, "AwsSolutions-SF1",
                "Waiter logging at level ALL would write the presigned ResponseURL of every request to CloudWatch "
                "Logs; the handler logs each decision instead.")
    acknowledge(provider, "AwsSolutions-SF2",
                "The waiter only calls isComplete every 30 seconds, and the handler's JSON logs record each call; "
                "the Provider framework offers no tracing setting.")
