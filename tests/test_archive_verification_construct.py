"""ArchiveVerification, VerifiedWindow and TrailImport(verify=) as synthesized: what each resource holds, and each
bad prop refused at synth naming the prop and the form expected."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3
from aws_cdk.assertions import Capture, Match, Template

from cloudtrail_lake_import import ArchiveVerification, TrailImport

ENV = cdk.Environment(account="111122223333", region="us-east-1")
STORE = "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/archive"
JAN, FEB = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)


def _stack() -> tuple[cdk.Stack, aws_s3.IBucket]:
    stack = cdk.Stack(cdk.App(), "Verified", env=ENV)
    return stack, aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")


def test_the_report_bucket_made_is_encrypted_tls_only_private_and_expiring() -> None:
    stack, logs = _stack()
    ArchiveVerification(stack, "Verification", source_bucket=logs)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::S3::Bucket", {
        "BucketEncryption": {"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]},
        "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                           "IgnorePublicAcls": True, "RestrictPublicBuckets": True},
        "LifecycleConfiguration": {"Rules": Match.array_with([Match.object_like(
            {"ExpirationInDays": 400, "Status": "Enabled"})])}})
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": Match.array_with([
        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})])}})


def test_the_state_machine_fans_out_in_distributed_maps_at_the_concurrency_given() -> None:
    stack, logs = _stack()
    ArchiveVerification(stack, "Verification", source_bucket=logs, max_concurrency=250)
    definition = Capture()
    Template.from_stack(stack).has_resource_properties("AWS::StepFunctions::StateMachine", {
        "DefinitionString": definition, "TracingConfiguration": {"Enabled": True},
        "LoggingConfiguration": Match.object_like({"Level": "ALL"})})
    separator, parts = definition.as_object()["Fn::Join"]
    text = separator.join(p if isinstance(p, str) else "<reference>" for p in parts)
    for expected in ('"Mode":"DISTRIBUTED"', '"ExecutionType":"STANDARD"', '"MaxConcurrency":250',
                     '"InputType":"JSON"', 's3:getObject', 's3:putObject'):
        assert expected in text, expected
    # The interpreter offline runs none of these, and the definition needs none.
    for absent in ("ItemBatcher", "EXPRESS", "ToleratedFailure"):
        assert absent not in text, absent


def test_the_verifier_reads_only_the_archive_under_awslogs_and_writes_only_its_reports() -> None:
    stack, logs = _stack()
    ArchiveVerification(stack, "Verification", source_bucket=logs, source_prefix="/org-trail/")
    statements = Capture()
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Policy", {
        "PolicyName": Match.string_like_regexp("^VerificationRoleDefaultPolicy"),
        "PolicyDocument": {"Statement": statements}})
    by_sid = {s.get("Sid"): s for s in statements.as_array()}
    assert by_sid["ListTheArchive"]["Condition"] == {"StringLike": {"s3:prefix": ["org-trail/AWSLogs/*"]}}
    assert stack.resolve(by_sid["ReadTheArchive"]["Resource"]) == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::trail-logs/org-trail/AWSLogs/*"]]}
    assert by_sid["ReadTheSigningKeys"] == {"Action": "cloudtrail:ListPublicKeys", "Effect": "Allow",
                                             "Resource": "*", "Sid": "ReadTheSigningKeys"}
    assert by_sid["WriteTheReports"]["Action"] == ["s3:GetObject", "s3:PutObject"]


@pytest.mark.parametrize(("props", "error", "message"), [
    ({"max_concurrency": 0}, ValueError, "max_concurrency must be from 1 to 10,000"),
    ({"max_concurrency": "100"}, TypeError, "max_concurrency: expected a whole number (an int); got str '100'"),
    ({"source_prefix": "s3://trail-logs/org"}, ValueError, "source_prefix: expected a key prefix within "
                                                           "source_bucket"),
    ({"report_expiration": cdk.Duration.days(30), "report_bucket": "given"}, ValueError,
     "report_expiration applies only to the report bucket made here"),
    ({"report_bucket": "ireland"}, ValueError, "report_bucket: expected a bucket in this stack's region "
                                               "(us-east-1), where the Distributed Map reads its pieces; got one in "
                                               "eu-west-1"),
])
def test_a_bad_prop_of_the_verification_is_refused_at_synth(props: dict[str, Any], error: type[Exception],
                                                            message: str) -> None:
    stack, logs = _stack()
    if props.get("report_bucket") == "given":
        props["report_bucket"] = aws_s3.Bucket.from_bucket_name(stack, "Reports", "reports")
    elif props.get("report_bucket") == "ireland":
        props["report_bucket"] = aws_s3.Bucket.from_bucket_attributes(stack, "Reports", bucket_name="reports",
                                                                      region="eu-west-1")
    with pytest.raises(error, match=re.escape(message)):
        ArchiveVerification(stack, "Verification", source_bucket=logs, **props)


@pytest.mark.parametrize(("props", "error", "message"), [
    ({"source_prefix": "other"}, ValueError, "verify: the ArchiveVerification verifies Verified/Verification's "
                                             "source, not this import's source_bucket and source_prefix"),
    ({"start_time": None}, ValueError, "verify: give start_time and end_time too"),
    ({"verify": None, "verified_report": "s3://r/verifications/x/report.json"}, ValueError,
     "verified_report: give verify too"),
    ({"verify": "yes"}, TypeError, "verify: expected an ArchiveVerification; got str 'yes'"),
])
def test_a_verified_import_of_another_source_or_no_window_is_refused_at_synth(
        props: dict[str, Any], error: type[Exception], message: str) -> None:
    stack, logs = _stack()
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs, source_prefix="org")
    chosen = {"event_data_store": STORE, "source_bucket": logs, "source_prefix": "org", "start_time": JAN,
              "end_time": FEB, "verify": verification, **props}
    with pytest.raises(error, match=re.escape(message)):
        TrailImport(stack, "Import", **chosen)


@pytest.mark.parametrize(("window", "message"), [
    ({"start_time": FEB, "end_time": JAN}, "start_time (2024-02-01T00:00:00+00:00) must be before end_time"),
    ({"start_time": datetime(2024, 1, 1), "end_time": FEB}, "start_time must be timezone-aware"),
    ({"start_time": JAN, "end_time": FEB, "timeout": cdk.Duration.minutes(90)},
     "timeout must be from 1 to 55 minutes"),
])
def test_a_bad_window_is_refused_at_synth(window: dict[str, Any], message: str) -> None:
    stack, logs = _stack()
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs)
    with pytest.raises(ValueError, match=re.escape(message)):
        verification.verify_window("January", **window)


def test_a_verified_window_sends_its_window_in_utc_and_its_report_when_accepted() -> None:
    stack, logs = _stack()
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs, source_prefix="org")
    TrailImport(stack, "Import", event_data_store=STORE, source_bucket=logs, source_prefix="org",
                start_time=JAN, end_time=FEB, verify=verification,
                verified_report="s3://reports/verifications/early-run/report.json")
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeArchiveVerification", {
        "Source": "s3://trail-logs/org", "StartTime": "2024-01-01T00:00:00Z", "EndTime": "2024-02-01T00:00:00Z",
        "AcceptReport": "s3://reports/verifications/early-run/report.json", "Accounts": [], "Regions": []})


def test_the_import_depends_on_the_verification_of_its_own_source_and_window() -> None:
    stack, logs = _stack()
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs)
    TrailImport(stack, "Import", event_data_store=STORE, source_bucket=logs, start_time=JAN, end_time=FEB,
                verify=verification)
    template = Template.from_stack(stack)
    (window,) = template.find_resources("Custom::CloudTrailLakeArchiveVerification", {"Properties": {
        "Source": "s3://trail-logs", "StartTime": "2024-01-01T00:00:00Z", "EndTime": "2024-02-01T00:00:00Z"}})
    template.has_resource("Custom::CloudTrailLakeImport", {"DependsOn": Match.array_with([window])})


def test_a_verified_import_carries_the_verified_counts_for_its_reconciliation() -> None:
    stack, logs = _stack()
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs)
    TrailImport(stack, "Import", event_data_store=STORE, source_bucket=logs, start_time=JAN, end_time=FEB,
                verify=verification, reconcile_strictly=True)
    window = Capture()
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeImport", {
        "VerifiedLogFiles": {"Fn::GetAtt": [window, "LogFilesVerified"]},
        "VerifiedEvents": {"Fn::GetAtt": [Match.any_value(), "EventsInWindow"]},
        "ReconcileStrictly": "true"})
    assert window.as_string().startswith("VerificationWindow")


def test_an_import_of_the_registry_type_verifies_in_its_own_create_with_the_state_machine_it_may_start() -> None:
    from cloudtrail_lake_import import ResourceTypeRegistration

    app = cdk.App()
    type_stack = cdk.Stack(app, "Type", env=ENV)
    registration = ResourceTypeRegistration(type_stack, "ImportType")
    stack = cdk.Stack(app, "Verified", env=ENV)
    logs = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs)
    imported = TrailImport(stack, "Import", event_data_store=STORE, source_bucket=logs, start_time=JAN,
                           end_time=FEB, verify=verification, resource_type=registration, reconcile_strictly=True)
    template = Template.from_stack(stack)
    # No custom resource with its hour: the type's Create waits for the verification within its 36 hours.
    assert template.find_resources("Custom::CloudTrailLakeArchiveVerification") == {}
    machine = Capture()
    template.has_resource_properties(registration.type_name, {
        "VerifyWith": {"Ref": machine}, "ReconcileStrictly": True,
        "StartEventTime": "2024-01-01T00:00:00+00:00", "EndEventTime": "2024-02-01T00:00:00+00:00"})
    assert "VerifiedEvents" not in json.dumps(template.to_json())
    (name,) = [r["Properties"]["StateMachineName"] for k, r in
               template.find_resources("AWS::StepFunctions::StateMachine").items() if k == machine.as_string()]
    assert name.startswith("CloudTrailLakeVerification-")
    # The counts are the resource's own attributes.
    assert stack.resolve(imported.events_verified)["Fn::GetAtt"][1] == "EventsVerified"
    assert stack.resolve(imported.verification_report_uri)["Fn::GetAtt"][1] == "VerificationReportUri"
    assert stack.resolve(imported.events_difference)["Fn::GetAtt"][1] == "EventsDifference"
    # And the type's execution role may start it, follow its executions, and stop them.
    statements = [s for policy in Template.from_stack(type_stack).find_resources("AWS::IAM::Policy").values()
                  for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    (start,) = [s for s in statements if s.get("Sid") == "StartVerifications"]
    (follow,) = [s for s in statements if s.get("Sid") == "FollowVerifications"]
    assert start["Action"] == "states:StartExecution"
    assert follow["Action"] == ["states:DescribeExecution", "states:StopExecution"]
    assert json.dumps(start["Resource"]).endswith(':stateMachine:CloudTrailLakeVerification-*"]]}')
    assert json.dumps(follow["Resource"]).endswith(':execution:CloudTrailLakeVerification-*:*"]]}')


def test_a_state_machine_the_type_may_not_start_or_a_report_to_accept_is_refused_at_synth() -> None:
    from cloudtrail_lake_import import ResourceTypeRegistration

    app = cdk.App()
    registration = ResourceTypeRegistration(cdk.Stack(app, "Type", env=ENV), "ImportType",
                                            verification_state_machine_names=["OrgVerification"])
    stack = cdk.Stack(app, "Verified", env=ENV)
    logs = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs)
    with pytest.raises(ValueError, match=r"verify: the type's execution role may start the state machines named "
                                         r"OrgVerification, not CloudTrailLakeVerification-"):
        TrailImport(stack, "Import", event_data_store=STORE, source_bucket=logs, start_time=JAN, end_time=FEB,
                    verify=verification, resource_type=registration)
    everything = ResourceTypeRegistration(cdk.Stack(app, "Type2", env=ENV), "ImportType")
    with pytest.raises(ValueError, match="verified_report: a resource of the registry type verifies the window in "
                                         "its own Create"):
        TrailImport(stack, "Import2", event_data_store=STORE, source_bucket=logs, start_time=JAN, end_time=FEB,
                    verify=verification, resource_type=everything,
                    verified_report="s3://reports/verifications/run/report.json")


def test_a_kms_encrypted_report_bucket_is_usable_by_the_verifier_and_the_state_machine() -> None:
    from aws_cdk import aws_kms

    stack, logs = _stack()
    key = aws_kms.Key(stack, "ReportsKey", enable_key_rotation=True)
    reports = aws_s3.Bucket(stack, "Reports", encryption_key=key, enforce_ssl=True)
    ArchiveVerification(stack, "Verification", source_bucket=logs, report_bucket=reports)
    template = Template.from_stack(stack)
    for role in ("VerificationRole", "VerificationStateMachineRole"):
        template.has_resource_properties("AWS::IAM::Policy", {
            "PolicyName": Match.string_like_regexp(f"^{role}DefaultPolicy"),
            "PolicyDocument": {"Statement": Match.array_with([Match.object_like({
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": {"Fn::GetAtt": [Match.string_like_regexp("^ReportsKey"), "Arn"]}})])}})


def test_the_monitor_of_a_verified_import_may_read_only_the_counts_kept_per_window() -> None:
    from cloudtrail_lake_import import ImportMonitor

    stack, logs = _stack()
    verification = ArchiveVerification(stack, "Verification", source_bucket=logs)
    monitor = ImportMonitor(stack, "Monitor")
    for n in (1, 2):  # two imports of one archive: its bucket named and granted once
        TrailImport(stack, f"Import{n}", event_data_store=STORE, source_bucket=logs, start_time=JAN, end_time=FEB,
                    verify=verification, monitor=monitor, wait_for_completion=False)
    template = Template.from_stack(stack)
    reports = stack.resolve(verification.report_bucket.bucket_name)
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "trail_import_handler.monitor.handler",
        "Environment": {"Variables": Match.object_like({"IMPORT_MONITOR_REPORT_BUCKETS": reports})}})
    statements = [s for k, policy in template.find_resources("AWS::IAM::Policy").items() if k.startswith("MonitorRole")
                  for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    reads = [s for s in statements if s["Action"] == "s3:GetObject"]
    assert len(reads) == 1
    assert json.dumps(reads[0]["Resource"]).endswith('"/verifications/windows/*"]]}')
