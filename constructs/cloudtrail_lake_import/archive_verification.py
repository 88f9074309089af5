"""ArchiveVerification: a trail archive proved on Step Functions Distributed Map, one (account, region, day) at a
time, before it is copied into CloudTrail Lake."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from aws_cdk import (
    ArnFormat,
    CustomResource,
    Duration,
    Fn,
    Names,
    RemovalPolicy,
    Stack,
    Token,
    aws_iam,
    aws_kms,
    aws_logs,
    aws_s3,
)
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from trail_import_handler.archive_verification import REPORTS_ENV, RUNS, SOURCE_ENV, SOURCE_REGION_ENV
from trail_import_handler.verification_resource import RESOURCE_TYPE as VERIFICATION_TYPE

from ._asset import handler_code
from ._function import handler_function
from ._nag import acknowledge, acknowledge_wildcard
from ._prop_types import BUCKET, DURATION, KEY, TEXT, TIME, WHOLE, check, check_source_prefix, each
from .verification_provider import VerificationProvider

STATE_MACHINE_NAME_PREFIX = "CloudTrailLakeVerification-"
"""How every ArchiveVerification's state machine is named: the registry type's execution role may start those."""

DEFAULT_MAX_CONCURRENCY = 100
"""Pieces verified at once by default: a tenth of the default Lambda concurrency quota of an account (1,000)."""

# aws-cdk-lib's cx_api.STEPFUNCTIONS_USE_DISTRIBUTED_MAP_RESULT_WRITER_V2 (not exported to Python).
_RESULT_WRITER_V2 = "@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2"

# What reading and writing SSE-KMS objects takes (S3 User Guide, "Using server-side encryption with AWS KMS
# keys"): kms:Decrypt to GET, kms:GenerateDataKey to PUT; not grant_encrypt_decrypt's ReEncrypt* and the rest.
_SSE_KMS = ("kms:Decrypt", "kms:GenerateDataKey")

# Errors a step is tried again for: ours when S3 or CloudTrail stayed throttled through botocore's retries, and
# Lambda's own when the invocation itself failed or was throttled.
_TRANSIENT = ["ArchiveUnavailable", "Lambda.TooManyRequestsException", "Lambda.ServiceException",
              "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.ClientExecutionTimeoutException"]


class ArchiveVerification(Construct):
    """Verifies a trail archive in S3 before it is imported: CloudTrail's signed digest chain of every account
    and region, every log file the digests name, and every log file they do not.

    A state machine runs three stages:

    1. **Plan**: a function finds the archive's (account, region) slices with delimiter listings, checks that the
       window has digests, and writes the (account, region, day) pieces of the window to the report bucket.
    2. **Verify**: a Distributed Map runs the function on each piece, ``max_concurrency`` at a time. Each piece
       also checks its first digest's link to the day before. A digest or log file found wrong is a result;
       throttling and transient errors are tried again. Each piece's report goes to the report bucket, and then
       each slice's pieces are rolled up into one report, by a second Distributed Map.
    3. **Summarize**: the function adds the slices' reports up into ``verifications/RUN/report.json`` and returns
       the counts and the first problems, each a key and a sentence, in under 2 KB. A run of every account and
       region also keeps its counts under ``verifications/windows/``, one object per source and window, where an
       ImportMonitor finds them when an import of that window ends.

    Start an execution with ``{"start": "2024-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}``, and optionally
    ``"accounts"`` and ``"regions"``; the window is [start, end).

    The function may list and read the source under ``PREFIX/AWSLogs/`` only, write and read the report bucket
    under ``verifications/`` only, and call ``cloudtrail:ListPublicKeys``. A source bucket of another account must
    allow that role in its bucket policy too.
    """

    def __init__(self, scope: Construct, construct_id: str, *, source_bucket: aws_s3.IBucket,
                 source_prefix: str | None = None, source_region: str | None = None,
                 encryption_key: aws_kms.IKey | None = None, report_bucket: aws_s3.IBucket | None = None,
                 report_expiration: Duration | None = None, max_concurrency: int = DEFAULT_MAX_CONCURRENCY) -> None:
        """
        :param source_bucket: the bucket that holds the trail logs and their digests.
        :param source_prefix: the key prefix above ``AWSLogs/``, such as ``org-trail`` (not an ``s3://`` URI); a
            leading or trailing ``/`` is dropped. Default: the whole bucket.
        :param source_region: the source bucket's region. Default: the bucket's own, else this stack's.
        :param encryption_key: the KMS key of SSE-KMS encrypted logs and digests. Default: the bucket's own key,
            if any.
        :param report_bucket: where the reports go; it must be in this stack's region, where the Distributed Map
            reads its pieces. Default: a bucket made here, encrypted, TLS only, never public, and its reports
            expiring after ``report_expiration``.
        :param report_expiration: how long the made report bucket keeps a report. Default: 400 days, past a
            yearly audit. Only for the bucket made here.
        :param max_concurrency: how many pieces (account, region, day) are verified at once, 1 to 10,000; each
            is one Lambda invocation. Default: 100.
        """
        super().__init__(scope, construct_id)
        # CDK renders result_writer_v2 only under this feature flag (the deprecated result_writer warns at every
        # synth); context set here, before any child, holds for this construct's own states and no one else's.
        self.node.set_context(_RESULT_WRITER_V2, True)
        check("source_bucket", source_bucket, BUCKET, required=True)
        check_source_prefix(source_prefix)
        check("source_region", source_region, TEXT)
        check("encryption_key", encryption_key, KEY)
        check("report_bucket", report_bucket, BUCKET)
        check("report_expiration", report_expiration, DURATION)
        check("max_concurrency", max_concurrency, WHOLE, required=True)
        if not 1 <= max_concurrency <= 10_000:
            raise ValueError(f"max_concurrency must be from 1 to 10,000 (Distributed Map's limit of child "
                             f"executions at once); got {max_concurrency}")
        if report_bucket is not None and report_expiration is not None:
            raise ValueError("report_expiration applies only to the report bucket made here; set the lifecycle of "
                             "the report_bucket you give on that bucket")
        stack = Stack.of(self)
        _check_region(stack, report_bucket)
        prefix = (source_prefix or "").strip("/")
        self.source_uri = f"s3://{source_bucket.bucket_name}" + (f"/{prefix}" if prefix else "")
        """The archive verified: ``s3://BUCKET[/PREFIX]``."""
        logs = (f"{prefix}/" if prefix else "") + ("" if prefix.endswith("AWSLogs") else "AWSLogs/")

        self.report_bucket = report_bucket or aws_s3.Bucket(
            self, "Reports", encryption=aws_s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
            block_public_access=aws_s3.BlockPublicAccess.BLOCK_ALL, versioned=False,
            object_ownership=aws_s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[aws_s3.LifecycleRule(expiration=report_expiration or Duration.days(400),
                                                  abort_incomplete_multipart_upload_after=Duration.days(1))])
        """Where each run's reports are: ``verifications/RUN/report.json``, and each piece's and slice's."""
        if report_bucket is None:
            acknowledge(self.report_bucket, "AwsSolutions-S1",
                        "The bucket holds only the reports this construct writes, by its one role; an access log "
                        "would record those writes and the user's own reads. Give report_bucket to log them.")

        self.role = aws_iam.Role(self, "Role", assumed_by=aws_iam.ServicePrincipal("lambda.amazonaws.com"),
                                 description="Verifies a CloudTrail trail archive before it is imported")
        """The role of the verifier function."""
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="ListTheArchive", actions=["s3:ListBucket"], resources=[source_bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{logs}*"]}}))
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="ReadTheArchive", actions=["s3:GetObject"], resources=[source_bucket.arn_for_objects(f"{logs}*")]))
        key = encryption_key or source_bucket.encryption_key
        if key is not None:
            self.role.add_to_policy(aws_iam.PolicyStatement(
                sid="DecryptTheArchive", actions=["kms:Decrypt"], resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{source_region or stack.region}.amazonaws.com"}}))
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="ListTheReports", actions=["s3:ListBucket"], resources=[self.report_bucket.bucket_arn]))
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="WriteTheReports", actions=["s3:GetObject", "s3:PutObject"],
            resources=[self.report_bucket.arn_for_objects(f"{RUNS}*")]))
        # The Service Authorization Reference gives ListPublicKeys no resource type: '*' is the only match.
        self.role.add_to_policy(aws_iam.PolicyStatement(
            sid="ReadTheSigningKeys", actions=["cloudtrail:ListPublicKeys"], resources=["*"]))
        if self.report_bucket.encryption_key is not None:
            self.report_bucket.encryption_key.grant(self.role, *_SSE_KMS)

        self.function = handler_function(
            self, "Verifier", log_group_id="VerifierLogs", handler="trail_import_handler.archive_verification.handler",
            code=handler_code(), role=self.role, timeout=Duration.minutes(15), memory_size=1024,
            environment={SOURCE_ENV: self.source_uri,
                         SOURCE_REGION_ENV: source_region or source_bucket.env.region or stack.region,
                         REPORTS_ENV: self.report_bucket.bucket_name},
            description="Verifies a CloudTrail trail archive: plan, verify a piece, roll up a slice, summarize")
        """The function of every stage: plan, verify one piece, roll up one slice, summarize."""

        self.state_machine_name = _machine_name(self)
        """The state machine's name: ``CloudTrailLakeVerification-`` and a suffix unique in the account and
        region, so that a ResourceTypeRegistration may start it by default."""
        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=self.state_machine_name,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(max_concurrency)),
            state_machine_type=sfn.StateMachineType.STANDARD, tracing_enabled=True,
            logs=sfn.LogOptions(destination=aws_logs.LogGroup(self, "ExecutionLogs",
                                                                retention=aws_logs.RetentionDays.ONE_YEAR,
                                                                removal_policy=RemovalPolicy.RETAIN),
                                level=sfn.LogLevel.ALL, include_execution_data=True),
            comment="Verifies a CloudTrail trail archive before it is imported")
        """The state machine: start an execution with the window to verify; its output is the summary."""
        if self.report_bucket.encryption_key is not None:
            # Its item readers read the plan, and its result writers write the map runs' manifests, in that bucket.
            self.report_bucket.encryption_key.grant(self.state_machine.role, *_SSE_KMS)

        self._providers: dict[int, VerificationProvider] = {}
        self._acknowledge(source_bucket, logs)

    def verify_window(self, construct_id: str, *, start_time: datetime, end_time: datetime,
                      accounts: Sequence[str] | None = None, regions: Sequence[str] | None = None,
                      accept_report: str | None = None, timeout: Duration | None = None) -> VerifiedWindow:
        """A verification of [start_time, end_time) that the deploy runs and waits for: a resource that fails when
        the archive is not intact, and that an import can depend on.

        :param construct_id: the id of the ``VerifiedWindow`` made under this construct.
        :param start_time: the window's start (timezone-aware).
        :param end_time: the window's end, not in it (timezone-aware).
        :param accounts: verify these accounts only. Default: every account of the archive.
        :param regions: verify these regions only. Default: every region of the archive.
        :param accept_report: the report of a verification that ran before the deploy, for the same source and
            window (``s3://REPORT_BUCKET/verifications/RUN/report.json``): accepted instead of running one, and
            refused when it is another source's or window's. For windows that take longer than the deploy waits.
        :param timeout: how long the deploy waits for the verification, at most 55 minutes. Default: 55 minutes.
        """
        return VerifiedWindow(self, construct_id, verification=self, start_time=start_time, end_time=end_time,
                              accounts=accounts, regions=regions, accept_report=accept_report, timeout=timeout)

    def provider(self, total_timeout: Duration) -> VerificationProvider:
        """The provider of this verification's windows that wait at most ``total_timeout``."""
        minutes = int(total_timeout.to_minutes())
        if minutes not in self._providers:
            self._providers[minutes] = VerificationProvider(self, f"Provider{minutes}m", verification=self,
                                                            total_timeout=total_timeout)
        return self._providers[minutes]

    def _definition(self, max_concurrency: int) -> sfn.IChainable:
        plan = self._step("Plan", {"step": "plan", "run": sfn.JsonPath.string_at("$$.Execution.Name"),
                                   "request": sfn.JsonPath.object_at("$")}, result_path="$.plan")
        pieces = self._fan_out("Verify each piece", "pieces", {
            "step": "verify", "piece": sfn.JsonPath.object_at("$$.Map.Item.Value"),
            "run": sfn.JsonPath.string_at("$.plan.run"), "request": sfn.JsonPath.object_at("$.plan.window")},
            max_concurrency)
        slices = self._fan_out("Roll up each slice", "slices", {
            "step": "roll-up", "slice": sfn.JsonPath.object_at("$$.Map.Item.Value"),
            "run": sfn.JsonPath.string_at("$.plan.run")}, max_concurrency)
        summary = self._step("Summarize", {"step": "summarize", "run": sfn.JsonPath.string_at("$.plan.run"),
                                           "request": sfn.JsonPath.object_at("$.plan.window")})
        return plan.next(pieces).next(slices).next(summary)

    def _step(self, name: str, payload: dict[str, object], *, result_path: str | None = None) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(self, name, lambda_function=self.function,
                                  payload=sfn.TaskInput.from_object(payload), payload_response_only=True,
                                  retry_on_service_exceptions=False, result_path=result_path)
        task.add_retry(errors=_TRANSIENT, interval=Duration.seconds(2), backoff_rate=2, max_attempts=6)
        return task

    def _fan_out(self, name: str, items: str, selector: dict[str, object],
                 max_concurrency: int) -> sfn.DistributedMap:
        # No ItemBatcher, EXPRESS children or failure tolerance: one piece is one invocation, and a piece that
        # cannot be verified fails the run rather than leaving part of the archive unproven.
        fan_out = sfn.DistributedMap(
            self, name, max_concurrency=max_concurrency, item_selector=selector, result_path=sfn.JsonPath.DISCARD,
            item_reader=sfn.S3JsonItemReader(bucket=self.report_bucket,
                                             key=sfn.JsonPath.string_at(f"$.plan.{items}.Key")),
            # Without a writer the children's outputs would be gathered into the state's output, which is limited
            # to 256 KiB: an organization's pieces are millions.
            result_writer_v2=sfn.ResultWriterV2(bucket=self.report_bucket, prefix=f"{RUNS}map-runs/"))
        fan_out.item_processor(_child(self, fan_out, name))
        return fan_out

    def _acknowledge(self, source_bucket: aws_s3.IBucket, logs: str) -> None:
        acknowledge_wildcard(self.role, source_bucket.arn_for_objects(f"{logs}*"),
                             "The verifier reads every digest and log file of the archive, which lie under "
                             "AWSLogs/ in keys it cannot know in advance; it may read nothing else.")
        acknowledge_wildcard(self.role, self.report_bucket.arn_for_objects(f"{RUNS}*"),
                             "Each run writes its reports under verifications/RUN/, named by the execution.")
        acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]",
                    "cloudtrail:ListPublicKeys has no resource type in the Service Authorization Reference: '*' is "
                    "the only resource AWS matches for it (read-only, the public keys of digest signatures).")
        machine = self.state_machine
        acknowledge_wildcard(machine, f"{self.function.function_arn}:*",
                             "CDK's LambdaInvoke lets the state machine invoke the verifier's versions (<function "
                             "ARN>:*), nothing else.")
        stack = Stack.of(self)
        # CDK's item reader names the bucket by its ARN, its result writer by its name.
        for objects in (self.report_bucket.arn_for_objects("*"),
                        stack.format_arn(service="s3", region="", account="", resource=self.report_bucket.bucket_name,
                                         resource_name="*")):
            acknowledge_wildcard(machine, objects,
                                 "CDK's S3 item reader and result writer read the pieces and write the map runs' "
                                 "results in the report bucket, under keys named per run.")
        executions = Fn.select(6, Fn.split(":", machine.state_machine_arn))
        for children in (f"{executions}:*", f"{executions}/*:*"):
            acknowledge_wildcard(machine, stack.format_arn(
                service="states", resource="execution", arn_format=ArnFormat.COLON_RESOURCE_NAME,
                resource_name=children),
                "A Distributed Map describes, stops and redrives its own child executions, which Step Functions "
                "names.")
        acknowledge(machine, "AwsSolutions-IAM5[Resource::*]",
                    "The execution log's delivery (logs:CreateLogDelivery and the rest) and X-Ray tracing have no "
                    "resource type in the Service Authorization Reference: '*' is the only resource they take.")


class VerifiedWindow(Construct):
    """One window of an archive, verified by the deploy (``Custom::CloudTrailLakeArchiveVerification``).

    Create runs the ArchiveVerification's state machine for the window and waits for it; an archive that is not
    intact fails the resource with its first problems, each an S3 key and a sentence. A changed window, source or
    report is verified again; anything else (a resumed import, say) leaves the resource, and its verification, as
    it is. Deleting it stops a verification that still runs.
    """

    def __init__(self, scope: Construct, construct_id: str, *, verification: ArchiveVerification,
                 start_time: datetime, end_time: datetime, accounts: Sequence[str] | None = None,
                 regions: Sequence[str] | None = None, accept_report: str | None = None,
                 timeout: Duration | None = None) -> None:
        """
        :param verification: the ArchiveVerification that runs it.
        :param start_time: the window's start (timezone-aware).
        :param end_time: the window's end, not in it (timezone-aware).
        :param accounts: verify these accounts only. Default: all.
        :param regions: verify these regions only. Default: all.
        :param accept_report: a finished report of the same source and window to accept instead of running one.
            Default: none.
        :param timeout: how long the deploy waits, at most 55 minutes. Default: 55 minutes.
        """
        super().__init__(scope, construct_id)
        check("verification", verification, ("an ArchiveVerification",
                                             lambda v: isinstance(v, ArchiveVerification)), required=True)
        for name, value in (("start_time", start_time), ("end_time", end_time)):
            check(name, value, TIME, required=True)
        check("accounts", accounts, each(TEXT))
        check("regions", regions, each(TEXT))
        check("accept_report", accept_report, TEXT)
        check("timeout", timeout, DURATION)
        timeout = timeout or Duration.minutes(55)
        if not 1 <= timeout.to_minutes() <= 55:
            raise ValueError(f"timeout must be from 1 to 55 minutes (a custom resource waits at most an hour); "
                             f"got {timeout.to_human_string()}")
        for name, value in (("start_time", start_time), ("end_time", end_time)):
            if value.tzinfo is None:
                raise ValueError(f"{name} must be timezone-aware, such as datetime(2024, 1, 1, tzinfo=timezone.utc)")
        if start_time >= end_time:
            raise ValueError(f"start_time ({start_time.isoformat()}) must be before end_time ({end_time.isoformat()})")
        properties: dict[str, object] = {
            "StateMachineArn": verification.state_machine.state_machine_arn, "Source": verification.source_uri,
            "StartTime": _utc(start_time), "EndTime": _utc(end_time),
            "Accounts": list(accounts or []), "Regions": list(regions or [])}
        if accept_report:
            properties["AcceptReport"] = accept_report
        self.resource = CustomResource(
            self, "Resource", service_token=verification.provider(timeout).service_token,
            resource_type=VERIFICATION_TYPE, properties=properties,
            service_timeout=Duration.minutes(int(timeout.to_minutes()) + 5))
        """The custom resource that runs the verification."""

    @property
    def digests_verified(self) -> str:
        """Digests found valid."""
        return self.resource.get_att_string("DigestsVerified")

    @property
    def log_files_verified(self) -> str:
        """Log files found as their digests recorded them."""
        return self.resource.get_att_string("LogFilesVerified")

    @property
    def events_in_window(self) -> str:
        """Events of the window in the log files verified."""
        return self.resource.get_att_string("EventsInWindow")

    @property
    def problems(self) -> str:
        """Problems found: 0, since a verification with problems fails the resource."""
        return self.resource.get_att_string("Problems")

    @property
    def report_uri(self) -> str:
        """The whole report: ``s3://REPORT_BUCKET/verifications/RUN/report.json``."""
        return self.resource.get_att_string("ReportUri")


def _machine_name(verification: ArchiveVerification) -> str:
    # Unique in the account and region (the stack's name is in the path), stable across deploys, at most 80.
    return STATE_MACHINE_NAME_PREFIX + Names.unique_resource_name(verification, max_length=80 - len(
        STATE_MACHINE_NAME_PREFIX))


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _child(verification: ArchiveVerification, fan_out: sfn.DistributedMap, name: str) -> tasks.LambdaInvoke:
    """The one task of each child execution: the function on the item the selector made."""
    task = tasks.LambdaInvoke(fan_out, f"{name}: one", lambda_function=verification.function,
                              payload_response_only=True, retry_on_service_exceptions=False)
    task.add_retry(errors=_TRANSIENT, interval=Duration.seconds(2), backoff_rate=2, max_attempts=6)
    return task


def _check_region(stack: Stack, report_bucket: aws_s3.IBucket | None) -> None:
    if report_bucket is None:
        return
    region, here = report_bucket.env.region, stack.region
    if not Token.is_unresolved(region) and not Token.is_unresolved(here) and region != here:
        raise ValueError(f"report_bucket: expected a bucket in this stack's region ({here}), where the Distributed "
                         f"Map reads its pieces; got one in {region}")
