"""ResourceTypeRegistration and TrailImport(resource_type=...): the synthesized registration, its roles, its package."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3
from aws_cdk.assertions import Match, Template

from cloudtrail_lake_import import ResourceTypeRegistration, TrailImport
from cloudtrail_lake_import import _type_package as type_package

ENV = cdk.Environment(account="111122223333", region="us-east-1")
STORE = "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/trail-archive"


def _registration(type_name: str | None = None, **props: Any) -> tuple[cdk.App, cdk.Stack, ResourceTypeRegistration]:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="registry-"))
    stack = cdk.Stack(app, "ImportType", env=ENV)
    if type_name:
        props["type_name"] = type_name
    return app, stack, ResourceTypeRegistration(stack, "Type", **props)


def _arn(rest: str) -> dict[str, Any]:
    """An ARN as the template writes it, with the partition a reference."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, rest]]}


def _arn_with(rest: str, name: Any) -> dict[str, Any]:
    """An ARN whose last part is a reference."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, rest, name]]}


def _statements(template: Template, role_fragment: str) -> list[dict[str, Any]]:
    policies = template.find_resources("AWS::IAM::Policy")
    return [s for logical, p in policies.items() if role_fragment in logical
            for s in p["Properties"]["PolicyDocument"]["Statement"]]


def test_registers_the_type_as_the_default_version_with_logging() -> None:
    _, stack, _ = _registration()
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::CloudFormation::ResourceVersion", {
        "TypeName": "TrailLogs::CloudTrailLake::Import",
        "SchemaHandlerPackage": Match.string_like_regexp(r"^s3://"),
        "ExecutionRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("TypeExecutionRole"), "Arn"]},
        "LoggingConfig": {"LogGroupName": {"Ref": Match.string_like_regexp("TypeLogs")},
                          "LogRoleArn": {"Fn::GetAtt": [Match.string_like_regexp("TypeLogDeliveryRole"), "Arn"]}},
    })
    template.has_resource_properties("AWS::CloudFormation::ResourceDefaultVersion", {
        "TypeVersionArn": {"Fn::GetAtt": [Match.string_like_regexp("TypeVersion"), "Arn"]},
    })
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain",
                                                  "Properties": {"RetentionInDays": 365}})


def test_the_execution_role_trusts_cloudformation_for_this_type_and_account_only() -> None:
    _, stack, _ = _registration()
    template = Template.from_stack(stack)
    trust = {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                            "Principal": {"Service": "resources.cloudformation.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"},
                                          "StringLike": {"aws:SourceArn": _arn(
                                              ":cloudformation:us-east-1:111122223333:type/resource/"
                                              "TrailLogs-CloudTrailLake-Import/*")}}}],
             "Version": "2012-10-17"}
    (role,) = template.find_resources("AWS::IAM::Role", {"Properties": {"AssumeRolePolicyDocument": trust}})
    assert "ExecutionRole" in role
    template.has_resource_properties("AWS::IAM::Role", {"AssumeRolePolicyDocument": trust,
                                                        "MaxSessionDuration": 8400})


def test_the_log_delivery_role_is_the_cloudformation_clis_scoped_to_the_log_group() -> None:
    _, stack, _ = _registration()
    template = Template.from_stack(stack)
    # As the CLI's LogAndMetricsDeliveryRole: CloudFormation's resource handlers, no conditions, 12 hours.
    template.has_resource_properties("AWS::IAM::Role", {
        "AssumeRolePolicyDocument": {
            "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                           "Principal": {"Service": "resources.cloudformation.amazonaws.com"}}],
            "Version": "2012-10-17"},
        "MaxSessionDuration": 43200,
    })
    statements = _statements(template, "LogDeliveryRole")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
                       "logs:DescribeLogStreams", "logs:PutLogEvents", "cloudwatch:ListMetrics",
                       "cloudwatch:PutMetricData"}
    (on_group,) = [s for s in statements if "logs:PutLogEvents" in s["Action"]]
    (group,) = template.find_resources("AWS::Logs::LogGroup")
    # The group itself (CreateLogGroup, DescribeLogStreams) and its streams (the ARN ending in :*).
    assert on_group["Resource"] == [_arn_with(":logs:us-east-1:111122223333:log-group:", {"Ref": group}),
                                    {"Fn::GetAtt": [group, "Arn"]}]
    (elsewhere,) = [s for s in statements if "cloudwatch:PutMetricData" in s["Action"]]
    assert (elsewhere["Resource"], elsewhere.get("Condition")) == ("*", None)


def test_the_execution_role_holds_exactly_the_schemas_handler_permissions() -> None:
    app, stack, registration = _registration(preflight_buckets=[aws_s3.Bucket.from_bucket_name(
        cdk.Stack(cdk.App(), "Elsewhere"), "Logs", "trail-logs")])
    del app
    statements = _statements(Template.from_stack(stack), "ExecutionRole")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert actions == set(registration.handler_permissions)
    by_action = {a: s for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert by_action["cloudtrail:StartImport"]["Resource"] == "*"
    assert by_action["cloudtrail:GetEventDataStore"]["Resource"] == \
        _arn(":cloudtrail:us-east-1:111122223333:eventdatastore/*")
    assert by_action["iam:PassRole"] == {
        "Action": "iam:PassRole", "Effect": "Allow",
        "Condition": {"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}},
        "Resource": _arn(":iam::111122223333:role/cloudtrail-lake-import/*")}
    assert by_action["ssm:PutParameter"]["Resource"] == \
        _arn(":ssm:us-east-1:111122223333:parameter/TrailLogs/CloudTrailLake/Import/*")
    assert by_action["s3:ListBucket"]["Resource"] == _arn(":s3:::trail-logs")


def test_without_preflight_buckets_the_role_reads_no_bucket() -> None:
    _, stack, registration = _registration(access_role_arns=["arn:aws:iam::111122223333:role/OrgTrailImport"])
    statements = _statements(Template.from_stack(stack), "ExecutionRole")
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert set(registration.handler_permissions) - actions == {"s3:GetBucketLocation", "s3:GetBucketOwnershipControls",
                                                               "s3:ListBucket"}
    (passing,) = [s for s in statements if s["Action"] == "iam:PassRole"]
    assert passing["Resource"] == "arn:aws:iam::111122223333:role/OrgTrailImport"


def test_a_chosen_type_name_reaches_the_schema_the_trust_and_the_records() -> None:
    _, stack, registration = _registration("Acme::Audit::TrailImport")
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::CloudFormation::ResourceVersion", {"TypeName": "Acme::Audit::TrailImport"})
    text = json.dumps(template.to_json())
    assert "type/resource/Acme-Audit-TrailImport/*" in text
    assert "parameter/Acme/Audit/TrailImport/*" in text
    package = zipfile.ZipFile(type_package.package(registration.type_name))
    assert json.loads(package.read("schema.json"))["typeName"] == "Acme::Audit::TrailImport"


@pytest.mark.parametrize("bad", ["AWS::CloudTrail::Import", "Acme::Import", "Acme::Audit::Trail-Import"])
def test_a_bad_type_name_fails_at_synth_naming_the_prop(bad: str) -> None:
    with pytest.raises(ValueError, match="type_name: expected three alphanumeric parts"):
        _registration(bad)


def test_the_package_holds_the_schema_the_settings_and_the_handler_zip() -> None:
    package = zipfile.ZipFile(type_package.package("TrailLogs::CloudTrailLake::Import"))
    assert sorted(package.namelist()) == [".rpdk-config", "ResourceProvider.zip", "schema.json"]
    settings = json.loads(package.read(".rpdk-config"))
    assert (settings["runtime"], settings["entrypoint"]) == ("python3.12", "trail_import_handler.registry.resource")
    schema = json.loads(package.read("schema.json"))
    assert schema == json.loads((Path(__file__).parent.parent / "registry" /
                                 "traillogs-cloudtraillake-import.json").read_text())
    # Built twice, the same bytes: the asset changes only when its content does.
    assert type_package.handler_zip() == type_package.handler_zip()


def test_the_handler_zip_holds_what_the_handlers_import_and_nothing_else(tmp_path: Path) -> None:
    code = tmp_path / "code"
    zipfile.ZipFile(io.BytesIO(type_package.handler_zip())).extractall(code)
    # The Lambda runtime: the standard library, and boto3 with its dependencies; nothing else installed.
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    import boto3
    import botocore
    for module in ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"):
        found = __import__(module)
        source = Path(found.__file__ or "")
        target = source.parent if source.name == "__init__.py" else source
        (runtime / target.name).symlink_to(target)
    del boto3, botocore
    probe = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
        "from trail_import_handler.registry import resource\n"
        "loaded = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)"
        f" and m.__file__.startswith({str(code)!r})}})\n"
        "print(json.dumps(loaded))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run([sys.executable, "-S", "-I", "-c", probe], capture_output=True, text=True, check=False,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = {Path(p).relative_to(code).as_posix() for p in json.loads(result.stdout)}
    modules = {p.relative_to(code).as_posix() for p in code.rglob("*.py")}
    assert modules == loaded
    assert {"trail_import_handler/registry.py", "cloudformation_cli_python_lib/resource.py"} <= modules
    # The other entry points and what only they import stay out.
    assert not {"trail_import_handler/cfn.py", "trail_import_handler/monitor.py",
                "trail_import_handler/provider.py"} & modules
    assert not any(m.startswith(("crhelper/", "boto3/", "botocore/")) for m in modules)


def test_trail_import_with_the_type_uses_it_in_another_stack() -> None:
    app, type_stack, registration = _registration()
    stack = cdk.Stack(app, "Backfill", env=ENV)
    bucket = aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs")
    imported = TrailImport(stack, "Import", resource_type=registration, event_data_store=STORE, source_bucket=bucket,
                           max_failed_entries=3)
    template = Template.from_stack(stack)
    template.has_resource("TrailLogs::CloudTrailLake::Import", {
        "Properties": {"EventDataStoreArn": STORE, "S3LocationUri": "s3://trail-logs", "S3BucketRegion": "us-east-1",
                       "S3BucketAccessRoleArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]},
                       "WaitForCompletion": True, "MaxFailedEntries": 3, "Preflight": True},
        "DeletionPolicy": "Delete",
    })
    # Made for the type: under the path its execution role may pass.
    template.has_resource_properties("AWS::IAM::Role", {"Path": "/cloudtrail-lake-import/"})
    assert template.find_resources("AWS::Lambda::Function") == {}
    assert type_stack in stack.dependencies
    assert isinstance(imported.resource, cdk.CfnResource)
    assert stack.resolve(imported.import_id) == {"Fn::GetAtt": [stack.get_logical_id(imported.resource), "ImportId"]}


def test_trail_import_refuses_a_type_registered_in_its_own_stack() -> None:
    _, stack, registration = _registration()
    with pytest.raises(ValueError, match="resource_type: register the type in a stack of its own"):
        TrailImport(stack, "Import", resource_type=registration, event_data_store=STORE,
                    source_bucket=aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs"))


def test_trail_import_properties_are_valid_against_the_type_schema() -> None:
    from datetime import UTC, datetime

    import jsonschema
    from aws_cdk import aws_iam

    app, _, registration = _registration()
    stack = cdk.Stack(app, "Backfill", env=ENV)
    role = aws_iam.Role.from_role_arn(stack, "Access", "arn:aws:iam::111122223333:role/cloudtrail-lake-import/Reader")
    TrailImport(stack, "Import", resource_type=registration, event_data_store=STORE, access_role=role,
                source_bucket=aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs"), source_prefix="org-trail",
                start_time=datetime(2019, 1, 1, tzinfo=UTC), end_time=datetime(2024, 1, 1, tzinfo=UTC),
                retry_token="2026-11-30", preflight=False, wait_for_completion=False)
    (resource,) = Template.from_stack(stack).find_resources("TrailLogs::CloudTrailLake::Import").values()
    schema = type_package.schema()
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    properties = resource["Properties"]
    assert list(validator.iter_errors(properties)) == []
    assert properties["S3LocationUri"] == "s3://trail-logs/org-trail"
    # And the schema is strict enough to refuse what the handler would refuse.
    for bad in ({"MaxFailedEntries": -1}, {"S3LocationUri": "trail-logs"}, {"Unknown": "x"},
                {"WaitForCompletion": "y"}):
        assert list(validator.iter_errors({**properties, **bad})), bad
