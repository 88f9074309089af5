"""TrailImport, ImportAccessRole and the shared provider, asserted on the synthesized template."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudtrail, aws_iam, aws_kms, aws_s3
from aws_cdk.assertions import Annotations, Capture, Match, Template

from cloudtrail_lake_import import (
    ImportAccessRole,
    ImportMonitor,
    StandaloneImportProvider,
    TrailImport,
    allow_import_from,
)
from cloudtrail_lake_import.testing import Deployment

ENV = cdk.Environment(account="111122223333", region="eu-west-1")
STORE_ARN = "arn:aws:cloudtrail:eu-west-1:111122223333:eventdatastore/archive"


def _stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Imports", env=ENV)


def _import(stack: cdk.Stack, construct_id: str = "Import", **overrides: Any) -> TrailImport:
    bucket = overrides.pop("source_bucket", None) or aws_s3.Bucket.from_bucket_name(stack, f"{construct_id}Logs",
                                                                                    "trail-logs")
    props: dict[str, Any] = {
        "event_data_store": STORE_ARN, "source_bucket": bucket, "source_prefix": "org-trail",
        "start_time": datetime(2024, 1, 1, tzinfo=UTC), "end_time": datetime(2024, 7, 1, tzinfo=UTC),
    }
    props.update(overrides)
    return TrailImport(stack, construct_id, **props)


def test_custom_resource_carries_every_property_as_a_string() -> None:
    stack = _stack()
    _import(stack, max_failed_entries=3, wait_for_completion=False, retry_token="1")
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::CloudTrailLakeImport", {
        "EventDataStoreArn": STORE_ARN,
        "S3LocationUri": "s3://trail-logs/org-trail",
        "S3BucketRegion": "eu-west-1",
        "S3BucketAccessRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("CloudTrailLakeImportAccess"), "Arn"]},
        "StartEventTime": "2024-01-01T00:00:00+00:00",
        "EndEventTime": "2024-07-01T00:00:00+00:00",
        "WaitForCompletion": "false",
        "MaxFailedEntries": "3",
        "RetryToken": "1",
        "ServiceTimeout": "3600",
    })
    template.has_resource("Custom::CloudTrailLakeImport", {"DeletionPolicy": "Delete"})


def test_retain_leaves_the_import_running_on_delete() -> None:
    stack = _stack()
    _import(stack, removal_policy=cdk.RemovalPolicy.RETAIN)
    Template.from_stack(stack).has_resource("Custom::CloudTrailLakeImport", {"DeletionPolicy": "Retain"})


ON_BEHALF = {"StringEquals": {"aws:SourceAccount": "111122223333", "aws:SourceArn": STORE_ARN}}


def _arn(text: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, text]]}


def test_access_role_trusts_cloudtrail_for_this_account_and_destination_only() -> None:
    stack = _stack()
    _import(stack)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {"Statement": [{
            "Action": "sts:AssumeRole", "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Condition": ON_BEHALF,
        }]},
    })


def test_access_role_policy_is_the_documented_one_for_its_bucket_and_prefix() -> None:
    stack = _stack()
    _import(stack)
    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy", {
        "Properties": {"Roles": [{"Ref": Match.string_like_regexp("CloudTrailLakeImportAccess")}]}})
    (policy,) = policies.values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [
        {"Sid": "AWSCloudTrailImportBucketAccess", "Action": ["s3:ListBucket", "s3:GetBucketAcl"],
         "Effect": "Allow", "Condition": ON_BEHALF, "Resource": _arn(":s3:::trail-logs")},
        {"Sid": "AWSCloudTrailImportObjectAccess", "Action": "s3:GetObject", "Effect": "Allow",
         "Condition": ON_BEHALF,
         "Resource": [_arn(":s3:::trail-logs/org-trail"), _arn(":s3:::trail-logs/org-trail/*")]},
    ]


def test_access_role_may_decrypt_the_buckets_objects_with_its_key() -> None:
    stack = _stack()
    key = aws_kms.Key(stack, "LogsKey")
    bucket = aws_s3.Bucket(stack, "Logs", encryption_key=key)
    ImportAccessRole(stack, "Access", source_bucket=bucket, event_data_store_arn=STORE_ARN)
    Template.from_stack(stack).has_resource_properties("AWS::IAM::Policy", {
        "PolicyDocument": {"Statement": Match.array_with([{
            "Sid": "AWSCloudTrailImportDecrypt", "Action": "kms:Decrypt", "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [Match.string_like_regexp("LogsKey"), "Arn"]},
            "Condition": {**ON_BEHALF, "StringLike": {"kms:EncryptionContext:aws:s3:arn": {"Fn::Join": ["", [
                {"Fn::GetAtt": [Match.string_like_regexp("Logs"), "Arn"]}, "/*"]]}}},
        }])},
    })


def test_bucket_and_key_of_the_app_get_the_documented_statements_for_the_role() -> None:
    stack = _stack()
    key = aws_kms.Key(stack, "LogsKey")
    bucket = aws_s3.Bucket(stack, "Logs", bucket_name="org-trail-logs", encryption_key=key)
    access = ImportAccessRole(stack, "Access", source_bucket=bucket, event_data_store_arn=STORE_ARN)
    template = Template.from_stack(stack)
    role_arn = {"Fn::GetAtt": [stack.get_logical_id(access.role.node.default_child), "Arn"]}  # type: ignore[arg-type]
    principal = {"AWS": _arn(":iam::111122223333:root")}
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": [{
        "Sid": "AWSCloudTrailImportBucketAccess", "Effect": "Allow", "Principal": principal,
        "Action": ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject"],
        "Resource": [_arn(":s3:::org-trail-logs"), _arn(":s3:::org-trail-logs/*")],
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn}},
    }]}})
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([{
        "Sid": "AWSCloudTrailImportDecrypt", "Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn}, **ON_BEHALF,
                      "StringLike": {"kms:EncryptionContext:aws:s3:arn": _arn(":s3:::org-trail-logs/*")}},
    }])}})
    Annotations.from_stack(stack).has_no_info("*", Match.string_like_regexp("its owner must add"))


def test_imported_bucket_gets_an_info_naming_the_statement_and_a_role_with_a_known_name() -> None:
    stack = _stack()
    _import(stack)
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::S3::BucketPolicy", 0)
    names = [r["Properties"].get("RoleName") for r in template.find_resources("AWS::IAM::Role", {
        "Properties": {"AssumeRolePolicyDocument": {"Statement": [Match.object_like({
            "Principal": {"Service": "cloudtrail.amazonaws.com"}})]}}}).values()]
    assert len(names) == 1
    assert names[0].startswith("ImportsCloudTrailLakeImportAccess")
    (info,) = Annotations.from_stack(stack).find_info("*", Match.string_like_regexp("its owner must add"))
    text = str(info.entry.data)
    assert text.startswith("The source is not defined in this app: its owner must add to the policy of bucket "
                           "trail-logs the statements in source-policy.trail-logs.json of the cloud assembly (cdk.out)")
    assert "{" not in text  # the statements are in the file, not in what a synth prints
    app = stack.node.root
    assert isinstance(app, cdk.App)
    policy = json.loads((Path(app.outdir) / "source-policy.trail-logs.json").read_text())
    assert policy["bucket"] == "trail-logs"
    assert policy["keyPolicyStatements"] == {}
    (statement,) = policy["bucketPolicyStatements"]
    assert statement["Sid"] == "AWSCloudTrailImportBucketAccess"
    assert statement["Principal"] == {"AWS": "arn:${AWS::Partition}:iam::111122223333:root"}
    assert statement["Condition"] == {"ArnEquals": {
        "aws:PrincipalArn": f"arn:${{AWS::Partition}}:iam::111122223333:role/{names[0]}"}}
    assert statement["Resource"] == ["arn:${AWS::Partition}:s3:::trail-logs", "arn:${AWS::Partition}:s3:::trail-logs/*"]


def test_roles_reading_one_imported_bucket_share_one_file_and_one_statement_per_account() -> None:
    app = cdk.App()
    here = cdk.Stack(app, "Imports", env=ENV)
    there = cdk.Stack(app, "Backfill", env=cdk.Environment(account="444455556666", region="eu-west-1"))
    for stack, name, prefix in ((here, "First", None), (here, "Second", "org-trail"), (there, "Third", None)):
        bucket = aws_s3.Bucket.from_bucket_name(stack, f"{name}Logs", "trail-logs")
        ImportAccessRole(stack, name, source_bucket=bucket, source_prefix=prefix, event_data_store_arn=STORE_ARN)
    for stack in (here, there):
        assert Annotations.from_stack(stack).find_info("*", Match.string_like_regexp("source-policy.trail-logs.json"))
    policy = json.loads((Path(app.outdir) / "source-policy.trail-logs.json").read_text())
    ours, theirs = policy["bucketPolicyStatements"]
    # The bucket policy grants the documented scope whatever the prefix (the role's own policy narrows it): the
    # roles of one account share a statement; another account's gets one of its own, with a Sid of its own.
    assert (ours["Sid"], theirs["Sid"]) == ("AWSCloudTrailImportBucketAccess", "AWSCloudTrailImportBucketAccess2")
    names = sorted(r["Properties"]["RoleName"] for r in Template.from_stack(here).find_resources(
        "AWS::IAM::Role").values())
    (theirs_name,) = [r["Properties"]["RoleName"] for r in Template.from_stack(there).find_resources(
        "AWS::IAM::Role").values()]
    assert ours["Condition"] == {"ArnEquals": {"aws:PrincipalArn": [
        f"arn:${{AWS::Partition}}:iam::111122223333:role/{name}" for name in names]}}
    assert ours["Principal"] == {"AWS": "arn:${AWS::Partition}:iam::111122223333:root"}
    assert theirs["Condition"] == {"ArnEquals": {"aws:PrincipalArn": (
        f"arn:${{AWS::Partition}}:iam::444455556666:role/{theirs_name}")}}
    assert theirs["Principal"] == {"AWS": "arn:${AWS::Partition}:iam::444455556666:root"}


def test_allow_import_from_adds_the_statements_in_the_bucket_owners_stack() -> None:
    stack = cdk.Stack(cdk.App(), "LogArchive", env=cdk.Environment(account="444455556666", region="eu-west-1"))
    key = aws_kms.Key(stack, "LogsKey")
    bucket = aws_s3.Bucket(stack, "Logs", bucket_name="org-trail-logs", encryption_key=key)
    role_arn = "arn:aws:iam::111122223333:role/TrailImportAccess"
    allow_import_from(bucket, access_role_arn=role_arn, event_data_store_arn=STORE_ARN)
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::S3::BucketPolicy", {"PolicyDocument": {"Statement": [Match.object_like({
        "Principal": {"AWS": _arn(":iam::111122223333:root")},
        "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arn}}})]}})
    template.has_resource_properties("AWS::KMS::Key", {"KeyPolicy": {"Statement": Match.array_with([
        Match.object_like({"Sid": "AWSCloudTrailImportDecrypt",
                           "Condition": Match.object_like({"ArnEquals": {"aws:PrincipalArn": role_arn}})})])}})
    with pytest.raises(ValueError, match="its owner must add this statement"):
        allow_import_from(aws_s3.Bucket.from_bucket_name(stack, "Imported", "imported-logs"), access_role_arn=role_arn,
                          event_data_store_arn=STORE_ARN)


def test_imports_of_the_same_bucket_and_destination_share_one_access_role() -> None:
    stack = _stack()
    bucket = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    first = _import(stack, "First", source_bucket=bucket)
    second = _import(stack, "Second", source_bucket=bucket, end_time=datetime(2024, 9, 1, tzinfo=UTC))
    assert first.access_role is second.access_role
    roles = Template.from_stack(stack).find_resources("AWS::IAM::Role", {
        "Properties": {"AssumeRolePolicyDocument": {"Statement": [Match.object_like(
            {"Principal": {"Service": "cloudtrail.amazonaws.com"}})]}}})
    assert len(roles) == 1


def test_handler_calls_the_import_apis_on_star_and_passes_only_its_access_roles_to_cloudtrail() -> None:
    stack = _stack()
    _import(stack)
    template = Template.from_stack(stack)
    role = Capture()
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "trail_import_handler.provider.on_event", "Role": {"Fn::GetAtt": [role, "Arn"]}})
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role.as_string()}]}})
    (policy,) = policies.values()
    access_role = stack.get_logical_id(_access_role_resource(stack))
    logs = [{"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
             "Resource": {"Fn::GetAtt": [stack.get_logical_id(group), "Arn"]}}
            for group in stack.node.find_all() if isinstance(group, cdk.aws_logs.CfnLogGroup)]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": ["cloudtrail:StartImport", "cloudtrail:GetImport", "cloudtrail:ListImports",
                    "cloudtrail:ListImportFailures", "cloudtrail:StopImport"], "Effect": "Allow", "Resource": "*"},
        *logs,
        {"Action": "iam:PassRole", "Effect": "Allow",
         "Condition": {"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}},
         "Resource": {"Fn::GetAtt": [access_role, "Arn"]}},
        {"Action": "cloudtrail:GetEventDataStore", "Effect": "Allow", "Resource": STORE_ARN},
        {"Action": "organizations:DescribeOrganization", "Effect": "Allow", "Resource": "*"},
        {"Action": ["s3:GetBucketLocation", "s3:GetBucketOwnershipControls"], "Effect": "Allow",
         "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::trail-logs"]]}},
        {"Action": "s3:ListBucket", "Effect": "Allow",
         "Condition": {"StringLike": {"s3:prefix": ["org-trail", "org-trail/*"]}},
         "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":s3:::trail-logs"]]}},
    ]


def test_without_preflight_the_handler_reads_nothing_from_the_bucket() -> None:
    stack = _stack()
    _import(stack, preflight=False)
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::CloudTrailLakeImport", {"Preflight": "false"})
    assert "s3:GetBucketLocation" not in json.dumps(template.find_resources("AWS::IAM::Policy"))


def _access_role_resource(stack: cdk.Stack) -> cdk.CfnElement:
    (access,) = [c for c in stack.node.children if isinstance(c, ImportAccessRole)]
    child = access.role.node.default_child
    assert isinstance(child, cdk.CfnElement)
    return child


@pytest.mark.parametrize("entry", ["on_event", "is_complete"])
def test_handler_functions_run_the_newest_python_on_arm_with_json_logs(entry: str) -> None:
    stack = _stack()
    _import(stack)
    Template.from_stack(stack).has_resource_properties("AWS::Lambda::Function", {
        "Handler": f"trail_import_handler.provider.{entry}",
        "Environment": {"Variables": {"TRAIL_IMPORT_WAIT_SECONDS": "3300"}},
        "Runtime": "python3.14",
        "Architectures": ["arm64"],
        "LoggingConfig": Match.object_like({"LogFormat": "JSON", "ApplicationLogLevel": "INFO"}),
    })


def test_provider_checks_every_30_seconds_for_as_long_as_the_import_may_take() -> None:
    stack = _stack()
    _import(stack, timeout=cdk.Duration.minutes(20))
    definition = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")
    (machine,) = definition.values()
    text = str(stack.resolve(machine["Properties"]["DefinitionString"]))
    assert '\\"IntervalSeconds\\":30' in text or '"IntervalSeconds":30' in text
    assert '"MaxAttempts":40' in text or '\\"MaxAttempts\\":40' in text
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeImport", {"ServiceTimeout": "1500"})


def test_one_provider_per_stack_and_imports_deploy_one_after_the_other() -> None:
    stack = _stack()
    imports = [_import(stack, f"Import{i}", end_time=datetime(2024, 2 + i, 1, tzinfo=UTC)) for i in range(3)]
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    template.resource_count_is("Custom::CloudTrailLakeImport", 3)
    for earlier, later in itertools.pairwise(imports):
        logical = stack.get_logical_id(earlier.resource.node.default_child)  # type: ignore[arg-type]
        later_id = stack.get_logical_id(later.resource.node.default_child)  # type: ignore[arg-type]
        assert logical in template.to_json()["Resources"][later_id]["DependsOn"]


def test_destination_may_be_an_event_data_store_construct() -> None:
    stack = _stack()
    store = aws_cloudtrail.CfnEventDataStore(stack, "Store", ingestion_enabled=False)
    _import(stack, event_data_store=store)
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeImport", {
        "EventDataStoreArn": {"Fn::GetAtt": ["Store", "EventDataStoreArn"]}})


def test_existing_access_role_is_used_as_given() -> None:
    stack = _stack()
    role = aws_iam.Role.from_role_arn(stack, "Given", "arn:aws:iam::111122223333:role/MyImportRole")
    _import(stack, access_role=role)
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::CloudTrailLakeImport", {
        "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/MyImportRole"})
    assert not template.find_resources("AWS::IAM::Role", {"Properties": {"AssumeRolePolicyDocument": {
        "Statement": [Match.object_like({"Principal": {"Service": "cloudtrail.amazonaws.com"}})]}}})


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start_time": datetime(2024, 1, 1)}, "start_time must be timezone-aware"),
        ({"end_time": datetime(2024, 1, 1)}, "end_time must be timezone-aware"),
        ({"end_time": datetime(2023, 1, 1, tzinfo=UTC)},
         "start_time (2024-01-01T00:00:00+00:00) must be before end_time"),
        ({"timeout": cdk.Duration.minutes(90)}, "timeout must be whole minutes from 1 to 55"),
        ({"timeout": cdk.Duration.seconds(90)}, "timeout must be whole minutes from 1 to 55"),
        ({"max_failed_entries": -1}, "max_failed_entries must be a whole number from 0 to 9223372036854775807"),
        ({"event_data_store": "my-store"}, "event_data_store must be a CfnEventDataStore or an event data store ARN"),
        ({"source_prefix": "a//b"},
         "source_prefix: expected a key prefix within source_bucket, such as 'org-trail' or "
         "'org-trail/AWSLogs/o-a1b2c3d4e5' (at most 1,024 characters, no '//'; a leading or trailing '/' is dropped); "
         "got 'a//b'"),
        ({"source_prefix": "s3://trail-logs/org-trail"},
         "source_prefix: expected a key prefix within source_bucket, such as 'org-trail' or "
         "'org-trail/AWSLogs/o-a1b2c3d4e5' (at most 1,024 characters, no '//'; a leading or trailing '/' is dropped), "
         "not a URI (the bucket is source_bucket); got 's3://trail-logs/org-trail'"),
        ({"source_prefix": "a" * 1025}, "source_prefix: expected a key prefix within source_bucket"),
    ],
)
def test_concrete_bad_values_fail_synthesis_naming_the_prop(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        _import(_stack(), **overrides)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"start_time": "2024-01-01"}, "start_time: expected a timezone-aware datetime, such as datetime(2024, 1, 1, "
                                       "tzinfo=timezone.utc); got str '2024-01-01'"),
        ({"end_time": 1719792000}, "end_time: expected a timezone-aware datetime, such as datetime(2024, 1, 1, "
                                   "tzinfo=timezone.utc); got int 1719792000"),
        ({"wait_for_completion": "false"}, "wait_for_completion: expected True or False; got str 'false'"),
        ({"preflight": 0}, "preflight: expected True or False; got int 0"),
        ({"max_failed_entries": "5"}, "max_failed_entries: expected a whole number (an int); got str '5'"),
        ({"max_failed_entries": True}, "max_failed_entries: expected a whole number (an int); got bool True"),
        ({"timeout": 55}, "timeout: expected a Duration, such as Duration.minutes(55); got int 55"),
        ({"retry_token": 2}, "retry_token: expected a string; got int 2"),
        ({"removal_policy": "RETAIN"}, "removal_policy: expected a RemovalPolicy, such as RemovalPolicy.RETAIN; "
                                       "got str 'RETAIN'"),
        ({"source_prefix": ["org-trail"]}, "source_prefix: expected a string; got list ['org-trail']"),
        ({"source_bucket": "trail-logs"}, "source_bucket: expected an s3.IBucket, such as "
                                          "s3.Bucket.from_bucket_name(self, 'TrailLogs', 'my-trail-logs'); "
                                          "got str 'trail-logs'"),
        ({"access_role": "arn:aws:iam::111122223333:role/ImportRole"},
         "access_role: expected an iam.IRole, such as iam.Role.from_role_arn(self, 'ImportRole', arn); "
         "got str 'arn:aws:iam::111122223333:role/ImportRole'"),
        ({"encryption_key": "alias/trail-logs"}, "encryption_key: expected a kms.IKey, such as "
                                                 "kms.Key.from_key_arn(self, 'TrailKey', arn); got str "
                                                 "'alias/trail-logs'"),
        ({"event_data_store": 42}, "event_data_store: expected a CfnEventDataStore or an event data store ARN (a "
                                   "string); got int 42"),
        ({"monitor": "monitor"}, "monitor: expected an ImportMonitor; got str 'monitor'"),
        ({"resource_type": "TrailLogs::CloudTrailLake::Import"},
         "resource_type: expected a ResourceTypeRegistration; got str 'TrailLogs::CloudTrailLake::Import'"),
    ],
)
def test_a_prop_of_the_wrong_type_is_named_with_the_type_expected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
        _import(_stack(), **overrides)


def test_a_bucket_given_as_its_name_to_the_access_role_is_named() -> None:
    with pytest.raises(TypeError, match=re.escape("source_bucket: expected an s3.IBucket")):
        ImportAccessRole(_stack(), "Role", source_bucket="trail-logs")  # type: ignore[arg-type]
    stack = _stack()
    bucket = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    with pytest.raises(ValueError, match=re.escape("not a URI (the bucket is source_bucket)")):
        ImportAccessRole(stack, "Role", source_bucket=bucket, source_prefix="s3://trail-logs/org-trail")


def test_imported_roles_keys_and_buckets_are_of_their_types() -> None:
    stack = _stack()
    role = aws_iam.Role.from_role_arn(stack, "Role", "arn:aws:iam::111122223333:role/ImportRole")
    key = aws_kms.Key.from_key_arn(stack, "Key", "arn:aws:kms:eu-west-1:111122223333:key/"
                                                 "1234abcd-12ab-34cd-56ef-1234567890ab")
    _import(stack, access_role=role, encryption_key=key, timeout=cdk.Duration.minutes(30))
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeImport", {
        "S3BucketAccessRoleArn": "arn:aws:iam::111122223333:role/ImportRole"})


@pytest.mark.parametrize("prefix", ["/org-trail", "org-trail/", "/org-trail/"])
def test_a_leading_or_trailing_slash_of_the_prefix_is_dropped(prefix: str) -> None:
    stack = _stack()
    _import(stack, source_prefix=prefix)
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeImport", {
        "S3LocationUri": "s3://trail-logs/org-trail"})


def test_tokens_pass_through_to_the_handlers_own_checks() -> None:
    stack = _stack()
    arn = cdk.CfnParameter(stack, "StoreArn").value_as_string
    _import(stack, event_data_store=arn)
    Template.from_stack(stack).has_resource_properties("Custom::CloudTrailLakeImport", {
        "EventDataStoreArn": {"Ref": "StoreArn"}})


def test_handler_functions_log_to_their_own_retained_groups_and_may_write_only_there() -> None:
    stack = _stack()
    _import(stack)
    template = Template.from_stack(stack)
    template.resource_properties_count_is("AWS::Logs::LogGroup", {"RetentionInDays": 365}, 2)
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "trail_import_handler.provider.on_event", "Timeout": 300, "MemorySize": 256})
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "trail_import_handler.provider.is_complete", "Timeout": 120, "MemorySize": 256})
    template.has_resource_properties("AWS::IAM::Policy", {"PolicyDocument": {"Statement": Match.array_with([
        {"Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Effect": "Allow",
         "Resource": {"Fn::GetAtt": [Match.string_like_regexp("OnEventLogs"), "Arn"]}},
    ])}})


def test_waiter_keeps_no_execution_logs_that_would_hold_response_urls() -> None:
    stack = _stack()
    _import(stack)
    machine = Template.from_stack(stack).find_resources("AWS::StepFunctions::StateMachine")
    (properties,) = [m["Properties"] for m in machine.values()]
    assert "LoggingConfiguration" not in properties


def test_standalone_provider_serves_plain_templates_with_scoped_permissions() -> None:
    stack = _stack()
    provider = StandaloneImportProvider(stack, "Standalone", access_role_name_prefix="TrailImport")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "trail_import_handler.cfn.handler", "Runtime": "python3.14", "Architectures": ["arm64"],
        "Timeout": 300, "FunctionName": Match.string_like_regexp("^cloudtrail-lake-import-")})
    role = stack.get_logical_id(provider.function.role.node.default_child)  # type: ignore[union-attr,arg-type]
    policies = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}})
    (policy,) = policies.values()
    statements = {str(s["Action"]): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    imports = statements[str(["cloudtrail:StartImport", "cloudtrail:GetImport", "cloudtrail:ListImports",
                              "cloudtrail:ListImportFailures", "cloudtrail:StopImport"])]
    assert imports["Resource"] == "*"
    assert statements["iam:PassRole"]["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":iam::111122223333:role/TrailImport*"]]}
    assert statements["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}}
    rules = statements[str(["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"])]
    assert rules["Resource"] == {"Fn::Join": ["", [
        "arn:", {"Ref": "AWS::Partition"}, ":events:eu-west-1:111122223333:rule/*"]]}
    permissions = statements[str(["lambda:AddPermission", "lambda:RemovePermission"])]
    assert "function:cloudtrail-lake-import-" in str(permissions["Resource"])


def test_bucket_region_comes_from_the_bucket_else_the_stack() -> None:
    stack = _stack()
    elsewhere = aws_s3.Bucket.from_bucket_attributes(stack, "Elsewhere", bucket_name="far-logs", region="us-west-2")
    _import(stack, "Far", source_bucket=elsewhere)
    _import(stack, "Near")
    template = Template.from_stack(stack)
    template.has_resource_properties("Custom::CloudTrailLakeImport", {
        "S3LocationUri": "s3://far-logs/org-trail", "S3BucketRegion": "us-west-2"})
    template.has_resource_properties("Custom::CloudTrailLakeImport", {
        "S3LocationUri": "s3://trail-logs/org-trail", "S3BucketRegion": "eu-west-1"})


def test_import_monitor_checks_on_a_schedule_with_least_privilege_and_no_reserved_concurrency() -> None:
    stack = _stack()
    monitor = ImportMonitor.of(stack)
    assert ImportMonitor.of(stack) is monitor
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Events::Rule", {"ScheduleExpression": "rate(5 minutes)"})
    template.has_resource_properties("AWS::Lambda::Function", {
        "Handler": "trail_import_handler.monitor.handler", "Runtime": "python3.14", "Architectures": ["arm64"],
        # Reserving any fails the deploy where the account's quota leaves under 100 unreserved; the check's leases
        # keep overlapping checks from publishing twice.
        "ReservedConcurrentExecutions": Match.absent(),
        "Environment": {"Variables": {"IMPORT_MONITOR_TABLE": {"Ref": Match.string_like_regexp("State")},
                                      "IMPORT_MONITOR_FIRST_FAILURES": "5"}}})
    template.has_resource_properties("AWS::DynamoDB::GlobalTable", {
        "KeySchema": [{"AttributeName": "ImportId", "KeyType": "HASH"}], "BillingMode": "PAY_PER_REQUEST",
        "Replicas": [Match.object_like({"PointInTimeRecoverySpecification": {
            "PointInTimeRecoveryEnabled": True}})]})
    role = stack.get_logical_id(monitor.function.role.node.default_child)  # type: ignore[union-attr,arg-type]
    (policy,) = template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}}).values()
    statements = {str(s["Action"]): s["Resource"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements[str(["cloudtrail:ListImports", "cloudtrail:GetImport", "cloudtrail:ListImportFailures"])] == "*"
    assert statements["events:PutEvents"] == _arn(":events:eu-west-1:111122223333:event-bus/default")
    table = statements[str(["dynamodb:Scan", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"])]
    assert table == {"Fn::GetAtt": [stack.get_logical_id(monitor.table.node.default_child), "Arn"]}  # type: ignore[arg-type]


def test_import_monitor_notifies_chosen_changes_as_a_sentence() -> None:
    stack = _stack()
    monitor = ImportMonitor.of(stack)
    monitor.notify(cdk.aws_sns.Topic(stack, "OnCall"), statuses=("FAILED", "STOPPED"))
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Events::Rule", {
        "EventPattern": {"source": ["cdk-cloudtrail-lake-import"],
                         "detail-type": ["CloudTrail Lake Import Status Change"],
                         "detail": {"status": ["FAILED", "STOPPED"]}},
        "Targets": [Match.object_like({"Arn": {"Ref": Match.string_like_regexp("OnCall")},
                                       "InputPath": "$.detail.message"})]})
    with pytest.raises(ValueError, match="statuses must be among INITIALIZING, IN_PROGRESS, COMPLETED"):
        monitor.notify(cdk.aws_sns.Topic(stack, "Other"), statuses=("DONE",))


def test_import_monitor_dashboard_body_is_valid_and_shows_each_watched_import() -> None:
    stack = _stack()
    monitor = ImportMonitor.of(stack)
    _import(stack, monitor=monitor)
    template = Template.from_stack(stack).to_json()
    (dashboard,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body = json.loads(Deployment(template, account="111122223333", region="eu-west-1").resolve(
        dashboard["Properties"]["DashboardBody"]))
    titles = [w["properties"].get("title") for w in body["widgets"]]
    assert titles[:4] == ["Events imported", "Files imported", "Prefixes completed", "Failed entries"]
    assert "Imports seen by the last checks" in titles
    assert "Import Imports/Import" in titles
    expressions = [entry["expression"] for w in body["widgets"] for line in w["properties"].get("metrics", [])
                   for entry in line if isinstance(entry, dict) and "expression" in entry]
    assert "SEARCH('{CloudTrailLakeImport,Destination,ImportId} MetricName=\"EventsCompleted\"', 'Maximum', 300)" in (
        expressions)
    for widget in body["widgets"]:
        assert {"type", "x", "y", "width", "height", "properties"} <= set(widget)
        assert widget["type"] in ("metric", "log")


@pytest.mark.parametrize(
    ("construct", "props", "message"),
    [
        ("ImportMonitor", {"schedule": 300},
         "schedule: expected a Duration, such as Duration.minutes(55); got int 300"),
        ("ImportMonitor", {"first_failures": "5"}, "first_failures: expected a whole number (an int); got str '5'"),
        ("ResourceTypeRegistration", {"type_name": None}, "type_name: expected a string; got NoneType None"),
        ("ResourceTypeRegistration", {"access_role_arns": "arn:aws:iam::111122223333:role/ImportRole"},
         "access_role_arns: expected a list of strings; got str 'arn:aws:iam::111122223333:role/ImportRole'"),
        ("ResourceTypeRegistration", {"preflight_buckets": ["trail-logs"]},
         "preflight_buckets: expected a list of s3.IBuckets, such as s3.Bucket.from_bucket_name(self, 'TrailLogs', "
         "'my-trail-logs'); got list ['trail-logs']"),
        ("ResourceTypeRegistration", {"log_retention": 365},
         "log_retention: expected an aws_logs.RetentionDays, such as RetentionDays.ONE_YEAR; got int 365"),
    ],
)
def test_the_other_constructs_name_a_prop_of_the_wrong_type(construct: str, props: dict[str, Any],
                                                            message: str) -> None:
    import cloudtrail_lake_import

    with pytest.raises(TypeError, match="^" + re.escape(message) + "$"):
        getattr(cloudtrail_lake_import, construct)(_stack(), "It", **props)
