"""The cloudtrail-lake-import command, through click's test runner, against moto and the import simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner, Result

from cloudtrail_lake_import.cli import main
from cloudtrail_lake_import.testing import CloudTrailImportSimulator, ImportPlan, failures
from cloudtrail_lake_import.testing.trail_bucket import TrailLayout, boto3_put, write_trail_logs
from tests.driver import BLOCKING_SOURCE, ProviderDriver
from tests.handler_roles import admin_client

BUCKET = "trail-logs"


def _run(sim: CloudTrailImportSimulator, *args: str) -> Result:
    return CliRunner().invoke(main, ["--region", "us-east-1", *args], obj={"sleep": sim.advance})


@pytest.fixture
def caller() -> None:
    """The command runs as a person, whose permissions are theirs to give: no IAM model here."""
    return None


@pytest.fixture
def trail_bucket(aws: CloudTrailImportSimulator) -> Any:
    s3 = admin_client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_ownership_controls(Bucket=BUCKET, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    write_trail_logs(TrailLayout(days=14, organization="o-a1b2c3d4e5"), boto3_put(s3, BUCKET))
    return s3


def test_preflight_prints_the_report(aws: CloudTrailImportSimulator, trail_bucket: Any) -> None:
    result = _run(aws, "preflight", f"s3://{BUCKET}", "--bucket-region", "us-east-1",
                  "--start", "2024-01-03T00:00:00Z", "--end", "2024-01-09T23:59:00Z", "--output", "table")
    assert result.exit_code == 0, result.output
    assert "Log files     84 (" in result.output
    assert "Regions       ap-southeast-2, eu-west-1, us-east-1" in result.output
    assert "one-year extendable retention: $" in result.output
    assert "note     Digest files under AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/" in result.output


def test_preflight_json_and_a_blocking_problem_exits_1(aws: CloudTrailImportSimulator, trail_bucket: Any) -> None:
    result = _run(aws, "preflight", f"s3://{BUCKET}", "--bucket-region", "eu-west-1", "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["problems"][0] == {
        "blocking": True,
        "message": "Bucket trail-logs is in us-east-1, not in eu-west-1: set --bucket-region to us-east-1."}
    assert report["files"] == 14 * 4 * 3


def test_preflight_with_a_bad_time_says_which_and_exits_2(aws: CloudTrailImportSimulator) -> None:
    result = _run(aws, "preflight", f"s3://{BUCKET}", "--bucket-region", "us-east-1", "--start", "monday")
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: Invalid value for --start: expected an RFC 3339 time with seconds and an offset (ISO 8601), such as "
        "2024-01-31T00:00:00Z or 2024-01-31T01:00:00+01:00; got 'monday'.\n")


def test_watch_follows_an_import_until_it_completes(aws: CloudTrailImportSimulator, props: dict[str, str]) -> None:
    import_id = ProviderDriver(aws).create({**props, "WaitForCompletion": "false"}).physical_id
    result = _run(aws, "watch", import_id, "--interval", "60")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].endswith("INITIALIZING")
    assert any("IN_PROGRESS" in line for line in lines)
    assert "[########################] 12/12 prefixes  240 files  48,000 events  0 failed  COMPLETED" in lines
    assert lines[-1] == f"Import {import_id} ended COMPLETED."


def test_watch_of_a_failed_import_exits_1(aws: CloudTrailImportSimulator, props: dict[str, str]) -> None:
    aws.plan_next_import(ImportPlan(failures=failures(3)))
    import_id = ProviderDriver(aws).create({**props, "WaitForCompletion": "false"}).physical_id
    result = _run(aws, "watch", import_id)
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"Import {import_id} ended FAILED."


def test_list_filters_by_destination_and_status(aws: CloudTrailImportSimulator, props: dict[str, str]) -> None:
    driver = ProviderDriver(aws)
    done = driver.create(props).physical_id
    aws.plan_next_import(ImportPlan(duration=timedelta(hours=1)))
    running = driver.create({**props, **BLOCKING_SOURCE, "WaitForCompletion": "false"}).physical_id
    everything = _run(aws, "list", "--output", "table")
    assert everything.exit_code == 0
    assert everything.output.splitlines()[0].split() == ["ImportId", "Status", "Destination", "Created", "Updated"]
    assert done in everything.output
    assert running in everything.output
    completed = json.loads(_run(aws, "list", "--status", "COMPLETED", "--json").output)
    assert [i["ImportId"] for i in completed] == [done]
    other = _run(aws, "list", "--destination", props["EventDataStoreArn"] + "-other", "--json")
    assert json.loads(other.output) == []


def test_failures_pages_through_all_of_them(aws: CloudTrailImportSimulator, props: dict[str, str]) -> None:
    aws.plan_next_import(ImportPlan(failures=failures(130)))
    import_id = ProviderDriver(aws).create({**props, "MaxFailedEntries": "200"}).physical_id
    result = _run(aws, "failures", import_id, "--output", "table")
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "130 failure(s)."
    piped = _run(aws, "failures", import_id).output.splitlines()
    assert len(piped) == 130
    assert {len(line.split("\t")) for line in piped} == {4}
    rows = json.loads(_run(aws, "failures", import_id, "--json").output)
    assert len(rows) == 130
    assert len({r["Location"] for r in rows}) == 130


def test_access_denied_names_the_call(aws: CloudTrailImportSimulator) -> None:
    aws.inject_fault("ListImports", "AccessDeniedException", message="User is not authorized")
    result = _run(aws, "list")
    assert result.exit_code == 2
    assert result.output == ("Error: ListImports failed with AccessDeniedException (User is not authorized): your "
                             "credentials need permission for ListImports.\n")


def test_missing_credentials_say_how_to_provide_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    import boto3 as boto

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setattr(boto, "DEFAULT_SESSION", None)
    result = CliRunner().invoke(main, ["--region", "us-east-1", "list"])
    assert result.exit_code == 2
    assert "No AWS credentials found: set AWS_PROFILE" in result.output


def test_unknown_profile_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = CliRunner().invoke(main, ["--profile", "auditors", "list"])
    assert result.exit_code == 2
    assert "The config profile (auditors) could not be found: check --profile" in result.output



def test_the_command_starts_without_the_cdk_runtime() -> None:
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    probe = "import sys, cloudtrail_lake_import.cli; print(sorted(m for m in sys.modules if m.startswith('aws_cdk')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": f"{root / 'constructs'}:{root / 'lambda'}", "PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]"


def test_type_package_writes_the_package_under_the_chosen_name(tmp_path: Any) -> None:
    import zipfile

    out = tmp_path / "acme.zip"
    result = CliRunner().invoke(main, ["type-package", "--type-name", "Acme::Audit::TrailImport", "--out", str(out)])
    assert result.exit_code == 0, result.output
    package = zipfile.ZipFile(out)
    assert json.loads(package.read("schema.json"))["typeName"] == "Acme::Audit::TrailImport"
    assert json.loads(package.read(".rpdk-config"))["typeName"] == "Acme::Audit::TrailImport"
    assert "cloudtrail:StartImport" in result.output
    assert "ssm:PutParameter" in result.output


# --- behaving like the command lines users know -------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--output", "json", "list"], ["list", "--output", "json"]])
def test_global_options_come_before_or_after_the_subcommand(aws: CloudTrailImportSimulator, props: dict[str, str],
                                                            args: list[str]) -> None:
    done = ProviderDriver(aws).create(props).physical_id
    result = CliRunner().invoke(main, args, obj={"sleep": aws.advance})
    assert result.exit_code == 0, result.output
    assert [i["ImportId"] for i in json.loads(result.output)] == [done]


@pytest.mark.parametrize(("args", "region"), [
    (["list", "--region", "eu-west-2"], "eu-west-2"),
    (["--region", "eu-west-1", "list"], "eu-west-1"),
    (["--region", "eu-west-1", "list", "--region", "ap-south-1"], "ap-south-1"),  # the later one wins
])
def test_the_region_is_taken_from_either_place(aws: CloudTrailImportSimulator, args: list[str], region: str) -> None:
    import boto3

    sent: list[str] = []
    boto3.DEFAULT_SESSION.events.register("request-created.cloudtrail.ListImports",  # type: ignore[union-attr]
                                          lambda request, **_: sent.append(request.url))
    result = CliRunner().invoke(main, args, obj={"sleep": aws.advance})
    assert result.exit_code == 0, result.output
    assert sent == [f"https://cloudtrail.{region}.amazonaws.com/"]


def test_an_unknown_profile_after_the_subcommand_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = CliRunner().invoke(main, ["list", "--profile", "auditors"])
    assert result.exit_code == 2
    assert result.output == "Error: The config profile (auditors) could not be found: check --profile or AWS_PROFILE.\n"


def test_a_preflight_problem_names_the_flag_to_change(aws: CloudTrailImportSimulator, trail_bucket: Any) -> None:
    result = _run(aws, "preflight", f"s3://{BUCKET}", "--bucket-region", "eu-west-1")
    assert result.exit_code == 1
    assert ("BLOCKING\tBucket trail-logs is in us-east-1, not in eu-west-1: set --bucket-region to us-east-1."
            in result.output.splitlines())


@pytest.mark.parametrize(("args", "error"), [
    (["s3:/trail-logs", "--bucket-region", "us-east-1"],
     "Invalid value for SOURCE: expected s3://bucket or s3://bucket/prefix, such as s3://my-trail-logs/org-trail; "
     "got 's3:/trail-logs'"),
    (["s3://trail-logs", "--bucket-region", "Ireland"],
     "Invalid value for --bucket-region: expected an AWS region name such as us-east-1; got 'Ireland'."),
    (["s3://trail-logs", "--bucket-region", "us-east-1", "--role-arn", "ImportRole"],
     "Invalid value for --role-arn: expected an IAM role ARN such as arn:aws:iam::111122223333:role/ImportRole; "
     "got 'ImportRole'."),
    (["s3://trail-logs", "--bucket-region", "us-east-1", "--start", "2024-02-01T00:00:00Z",
      "--end", "2024-01-01T00:00:00Z"],
     "Error: --start (2024-02-01T00:00:00+00:00) must be before --end (2024-01-01T00:00:00+00:00)."),
])
def test_a_bad_preflight_argument_is_named_as_typed(aws: CloudTrailImportSimulator, args: list[str],
                                                    error: str) -> None:
    result = _run(aws, "preflight", *args)
    assert result.exit_code == 2
    assert error in result.output
    for name in ("S3LocationUri", "S3BucketRegion", "S3BucketAccessRoleArn", "StartEventTime", "EndEventTime"):
        assert name not in result.output


@pytest.mark.parametrize("command", ["watch", "failures"])
@pytest.mark.parametrize("import_id", [
    "not-an-id",
    "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D",  # 36 characters, but CloudTrail's are lower case
    "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d0",  # one too many
])
def test_a_malformed_import_id_is_refused_before_any_request(aws: CloudTrailImportSimulator, command: str,
                                                             import_id: str) -> None:
    result = _run(aws, command, import_id)
    assert result.exit_code == 2
    assert result.output.endswith(
        "Error: Invalid value for 'IMPORT_ID': expected an import id, 36 characters of 0-9, a-f and '-' as 'list' "
        f"shows them (such as 1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d); got {import_id!r}.\n")
    assert aws.requests == []


def test_an_import_that_is_not_there_names_the_id_and_the_region(aws: CloudTrailImportSimulator) -> None:
    missing = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    result = _run(aws, "watch", missing)
    assert result.exit_code == 2
    assert result.output == (f"Error: GetImport on import {missing} failed with ImportNotFoundException (The import "
                             f"{missing} was not found): check IMPORT_ID and --region (imports and event data stores "
                             f"are regional).\n")


def test_a_missing_bucket_is_named(aws: CloudTrailImportSimulator) -> None:
    result = _run(aws, "preflight", "s3://no-such-trail-logs/org", "--bucket-region", "us-east-1")
    assert result.exit_code == 2
    assert result.output == ("Error: ListObjectsV2 on bucket no-such-trail-logs failed with NoSuchBucket (The "
                             "specified bucket does not exist): check the bucket name in SOURCE.\n")


def test_a_web_page_instead_of_an_aws_answer_is_one_sentence(aws: CloudTrailImportSimulator) -> None:
    aws.answer_with_page("ListImports", 503, times=11)  # the first attempt and the ten retries
    result = _run(aws, "list")
    assert result.exit_code == 2
    assert result.output == ("Error: ListImports was answered by a web page (HTTP 503 Service Unavailable), not by "
                             "AWS: a proxy or firewall between you and AWS, or an outage, answered; check HTTPS_PROXY "
                             "and try again later.\n")


def test_a_service_error_not_known_by_name_still_says_what_to_do(aws: CloudTrailImportSimulator) -> None:
    aws.inject_fault("ListImports", "InternalServerException", status=500, times=11, message="Internal failure.")
    result = _run(aws, "list")
    assert result.exit_code == 2
    assert result.output == ("Error: ListImports failed with InternalServerException (Internal failure): AWS kept "
                             "answering so through 11 attempts; try again later.\n")


def test_version_is_the_installed_distributions() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"cloudtrail-lake-import {version('cdk-cloudtrail-lake-import')}\n"


def _options_of(command: Any, path: str = "cloudtrail-lake-import") -> Iterator[tuple[str, Any]]:
    for param in command.params:
        yield path, param
    for name, sub in getattr(command, "commands", {}).items():
        yield from _options_of(sub, f"{path} {name}")


def test_every_option_has_help() -> None:
    import click

    bare = [f"{path} {param.opts[0]}" for path, param in _options_of(main)
            if isinstance(param, click.Option) and not (param.help or "").strip()]
    assert bare == []
    assert len(list(_options_of(main))) > 40  # every command was walked, global options included


def test_colour_on_a_terminal_only_and_never_under_no_color(aws: CloudTrailImportSimulator, props: dict[str, str],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ProviderDriver(aws).create(props)
    red_or_green = "\x1b[32m"  # COMPLETED, in green
    forced = _run(aws, "list", "--output", "table", "--color", "on").output
    assert red_or_green in forced
    assert red_or_green not in _run(aws, "list", "--output", "table").output  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert red_or_green not in CliRunner().invoke(main, ["--region", "us-east-1", "list", "--output", "table"],
                                                  obj={"sleep": aws.advance}, color=True).output
    assert red_or_green in _run(aws, "list", "--output", "table", "--color", "on").output


def test_piped_output_is_tab_separated_without_a_heading(aws: CloudTrailImportSimulator,
                                                         props: dict[str, str]) -> None:
    done = ProviderDriver(aws).create(props).physical_id
    lines = _run(aws, "list").output.splitlines()
    assert len(lines) == 1
    fields = lines[0].split("\t")
    assert fields[:3] == [done, "COMPLETED", props["EventDataStoreArn"]]
    assert len(fields) == 5
