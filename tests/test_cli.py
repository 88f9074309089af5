"""The cloudtrail-lake-import command, through click's test runner, against moto and the import simulator."""

from __future__ import annotations

import json
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
                  "--start", "2024-01-03T00:00:00Z", "--end", "2024-01-09T23:59:00Z")
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
        "message": "Bucket trail-logs is in us-east-1, not in eu-west-1: set S3BucketRegion to us-east-1."}
    assert report["files"] == 14 * 4 * 3


def test_preflight_with_a_bad_time_says_which_and_exits_2(aws: CloudTrailImportSimulator) -> None:
    result = _run(aws, "preflight", f"s3://{BUCKET}", "--bucket-region", "us-east-1", "--start", "monday")
    assert result.exit_code == 2
    assert "StartEventTime: expected an RFC 3339 time with seconds and an offset" in result.output


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
    everything = _run(aws, "list")
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
    result = _run(aws, "failures", import_id)
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "130 failure(s)."
    rows = json.loads(_run(aws, "failures", import_id, "--json").output)
    assert len(rows) == 130
    assert len({r["Location"] for r in rows}) == 130


def test_access_denied_names_the_call(aws: CloudTrailImportSimulator) -> None:
    aws.inject_fault("ListImports", "AccessDeniedException", message="User is not authorized")
    result = _run(aws, "list")
    assert result.exit_code == 2
    assert "Access denied calling ListImports: your credentials need permission for it" in result.output


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
