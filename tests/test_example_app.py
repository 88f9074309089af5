"""The example app synthesizes with the pinned CDK CLI, and its templates pass cfn-lint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.lint_templates import command as lint_command
from scripts.lint_templates import custom_resource_errors, schema_errors
from tests.assembly import handler_asset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    npx = shutil.which("npx")
    assert npx, "Node.js with npx is needed (make setup installs the CLI from package-lock.json)"
    out = tmp_path_factory.mktemp("cdk.out")
    result = subprocess.run(
        [npx, "--no-install", "cdk", "synth", "--quiet", "--output", str(out), "--app", f"{sys.executable} app.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (out / "synth.log").write_text(result.stdout + result.stderr)
    return out


def test_the_synth_prints_no_warning_of_ours_and_names_the_source_policy_file_once_per_role(
        cloud_assembly: Path) -> None:
    printed = (cloud_assembly / "synth.log").read_text().splitlines()
    assert not [line for line in printed if line.startswith("WARNING") or "program.js" in line]
    infos = [line for line in printed if line.startswith("INFO")]
    assert len(infos) == 2  # the example's two access roles read the imported bucket
    assert all("the statements in source-policy.my-trail-logs.json of the cloud assembly" in i for i in infos)
    assert not [line for line in printed if line.strip().startswith(("[", "{", '"Action"'))]
    policy = json.loads((cloud_assembly / "source-policy.my-trail-logs.json").read_text())
    (statement,) = policy["bucketPolicyStatements"]
    assert len(statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == 2


def test_cli_synthesizes_the_example_stacks_offline(cloud_assembly: Path) -> None:
    templates = sorted(p.name for p in cloud_assembly.glob("*.template.json"))
    assert templates == ["CloudTrailLakeImportServiceToken.template.json", "CloudTrailLakeImportType.template.json",
                         "TrailArchiveBackfill.template.json", "TrailArchiveImport.template.json"]
    backfill = json.loads((cloud_assembly / "TrailArchiveBackfill.template.json").read_text())
    assert [r["Type"] for r in backfill["Resources"].values()].count("TrailLogs::CloudTrailLake::Import") == 1
    archive = json.loads((cloud_assembly / "TrailArchiveImport.template.json").read_text())
    types = [r["Type"] for r in archive["Resources"].values()]
    assert types.count("Custom::CloudTrailLakeImport") == 1
    token = json.loads((cloud_assembly / "CloudTrailLakeImportServiceToken.template.json").read_text())
    assert token["Outputs"]["ServiceToken"]["Export"]["Name"] == "CloudTrailLakeImportServiceToken"


def _cfn_lint_errors(templates: list[str]) -> list[str]:
    """cfn-lint's errors on ``templates``, with the registry type known to it from its schema."""
    result = subprocess.run(lint_command(templates, "--format", "parseable"), capture_output=True, text=True,
                            timeout=600, check=False)
    # Exit codes are a bit mask of errors (2), warnings (4) and informational findings (8); 1 is a crash.
    assert result.returncode in range(0, 16, 2), result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if ":E" in line]


def test_cfn_lint_reports_the_errors_of_a_broken_template(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      Nonsense: 1\n")
    (error,) = _cfn_lint_errors([str(broken)])
    assert ":E3002:" in error


def test_the_registry_types_schema_judges_its_resources_properties_and_attributes(cloud_assembly: Path,
                                                                                   tmp_path: Path) -> None:
    # cfn-lint knows the type from its schema but checks none of its properties: lint_templates does.
    assert schema_errors(str(ROOT / "examples" / "registry-template.yaml")) == []
    assert schema_errors(str(cloud_assembly / "TrailArchiveBackfill.template.json")) == []
    broken = tmp_path / "broken.yaml"
    broken.write_text(textwrap.dedent("""\
        Parameters:
          Role:
            Type: String
        Resources:
          ArchiveImport:
            Type: TrailLogs::CloudTrailLake::Import
            Properties:
              EventDataStore: arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE
              S3LocationUri: s3://my-trail-logs/org-trail
              S3BucketRegion: !Ref AWS::Region
              S3BucketAccessRoleArn: !Ref Role
              StartEventTime: 2019
              MaxFailedEntries: "25"
              WaitForCompletion: "no"
        Outputs:
          Events:
            Value: !GetAtt ArchiveImport.EventsImported
          Id:
            Value: !GetAtt ArchiveImport.ImportId
    """))
    where = f"{broken}: Resources/ArchiveImport/Properties"
    assert schema_errors(str(broken)) == [
        f"{where}: required property EventDataStoreArn is missing",
        f"{where}: Additional properties are not allowed ('EventDataStore' was unexpected)",
        f"{where}/StartEventTime: 2019 is not of type 'string'",
        f"{where}/WaitForCompletion: 'no' is not of type 'boolean'",
        f"{broken}: Fn::GetAtt ArchiveImport.EventsImported: TrailLogs::CloudTrailLake::Import has no attribute "
        "EventsImported (it has DigestsVerified, EventsCompleted, EventsDifference, EventsVerified, FailedEntries, "
        "FilesCompleted, FilesDifference, Id, ImportId, ImportStatus, LogFilesVerified, PrefixesCompleted, "
        "PrefixesFound, VerificationReportUri)",
    ]


def test_the_registry_types_dependencies_are_judged_on_the_names_given(tmp_path: Path) -> None:
    template = tmp_path / "verified.yaml"
    template.write_text(textwrap.dedent("""\
        Parameters:
          End:
            Type: String
        Resources:
          Verified:
            Type: TrailLogs::CloudTrailLake::Import
            Properties:
              EventDataStoreArn: arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE
              S3LocationUri: s3://my-trail-logs/org-trail
              S3BucketRegion: us-east-1
              S3BucketAccessRoleArn: arn:aws:iam::111122223333:role/cloudtrail-lake-import/Access
              StartEventTime: "2024-01-01T00:00:00Z"
              VerifyWith: arn:aws:states:us-east-1:111122223333:stateMachine:CloudTrailLakeVerification-Org
          Strict:
            Type: TrailLogs::CloudTrailLake::Import
            Properties:
              EventDataStoreArn: arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE
              S3LocationUri: s3://my-trail-logs/org-trail
              S3BucketRegion: us-east-1
              S3BucketAccessRoleArn: arn:aws:iam::111122223333:role/cloudtrail-lake-import/Access
              StartEventTime: "2024-01-01T00:00:00Z"
              EndEventTime: !Ref End
              ReconcileStrictly: true
    """))
    where = f"{template}: Resources"
    assert schema_errors(str(template)) == [
        f"{where}/Verified/Properties: VerifyWith needs EndEventTime too",
        f"{where}/Strict/Properties: ReconcileStrictly needs VerifyWith too",
    ]


def test_the_import_custom_resources_property_names_are_judged_by_the_handlers_own_list(cloud_assembly: Path,
                                                                                     tmp_path: Path) -> None:
    # cfn-lint checks nothing of a custom resource's properties: a misspelt one would fail only at deploy.
    assert custom_resource_errors(str(ROOT / "examples" / "raw-template.yaml")) == []
    assert custom_resource_errors(str(cloud_assembly / "TrailArchiveImport.template.json")) == []
    broken = tmp_path / "broken.yaml"
    broken.write_text(textwrap.dedent("""\
        Resources:
          Import:
            Type: Custom::CloudTrailLakeImport
            Properties:
              ServiceToken: !ImportValue CloudTrailLakeImportServiceToken
              ServiceTimeout: 3600
              EventDataStoreArn: arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/EXAMPLE
              S3LocationUrl: s3://my-trail-logs/org-trail
              S3BucketRegion: us-east-1
              S3BucketAccessRoleArn: arn:aws:iam::111122223333:role/TrailImportAccess
    """))
    assert custom_resource_errors(str(broken)) == [
        f"{broken}: Resources/Import/Properties/S3LocationUrl: not a property of Custom::CloudTrailLakeImport (it "
        "has EndEventTime, EventDataStoreArn, MaxFailedEntries, Preflight, ReconcileStrictly, RetryToken, "
        "S3BucketAccessRoleArn, S3BucketRegion, S3LocationUri, ServiceTimeout, ServiceToken, StartEventTime, "
        "VerifiedEvents, VerifiedLogFiles, WaitForCompletion)",
        f"{broken}: Resources/Import/Properties: required property S3LocationUri is missing",
    ]


def test_example_templates_pass_cfn_lint(cloud_assembly: Path) -> None:
    errors = _cfn_lint_errors([str(p) for p in cloud_assembly.glob("*.template.json")])
    assert errors == [], "\n".join(errors)


def test_cross_account_example_synthesizes_two_accounts_and_passes_cfn_lint(tmp_path: Path) -> None:
    npx = shutil.which("npx")
    assert npx
    result = subprocess.run(
        [npx, "--no-install", "cdk", "synth", "--quiet", "--output", str(tmp_path),
         "--app", f"{sys.executable} examples/cross_account.py"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    accounts = {name: a["environment"] for name, a in manifest["artifacts"].items()
                if a["type"] == "aws:cloudformation:stack"}
    assert accounts == {"LogArchive": "aws://444455556666/us-east-1",
                        "TrailImportManagement": "aws://111122223333/us-east-1"}
    assert "LogArchive" in manifest["artifacts"]["TrailImportManagement"]["dependencies"]
    errors = _cfn_lint_errors([str(p) for p in tmp_path.glob("*.template.json")])
    assert errors == [], "\n".join(errors)


def test_handler_asset_holds_the_handler_package_and_nothing_from_site_packages(cloud_assembly: Path) -> None:
    ours = handler_asset(cloud_assembly, "TrailArchiveImport")
    assert sorted(p.name for p in ours.iterdir()) == ["trail_import_handler"]
    assert not list(ours.rglob("__pycache__"))


@pytest.mark.parametrize(("sample", "resource_type"), [("raw-template.yaml", "Custom::CloudTrailLakeImport"),
                                                       ("registry-template.yaml", "TrailLogs::CloudTrailLake::Import")])
def test_plain_cloudformation_samples_pass_cfn_lint(sample: str, resource_type: str) -> None:
    path = ROOT / "examples" / sample
    assert _cfn_lint_errors([str(path)]) == []
    assert f"Type: {resource_type}" in path.read_text()


def test_standalone_asset_holds_the_handler_and_crhelper_only(cloud_assembly: Path) -> None:
    ours = handler_asset(cloud_assembly, "CloudTrailLakeImportServiceToken")
    assert sorted(p.name for p in ours.iterdir()) == ["crhelper", "trail_import_handler"]


def test_local_lifecycle_demo_plays_create_and_delete_of_the_example_import() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py")], cwd=ROOT,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CREATE SUCCESS  physical id a0000000-0000-0000-0000-000000000001" in result.stdout
    assert "Preflight: 2196 files in the window" in result.stdout
    assert "ImportMonitor published 3 events: INITIALIZING, IN_PROGRESS, COMPLETED" in result.stdout
    assert "ImportStatus       COMPLETED" in result.stdout
    assert "DELETE SUCCESS" in result.stdout


def test_synth_summary_names_each_stacks_resources_imports_and_exports(cloud_assembly: Path) -> None:
    from scripts.synth_summary import summarize

    lines = summarize(cloud_assembly)
    assert lines[0].startswith("TrailArchiveImport (aws://unknown-account/unknown-region): ")
    assert "1 Custom::CloudTrailLakeImport" in lines[1]
    assert lines[2:6] == [
        "  import TrailArchiveImport/TrailImport/Resource/Default",
        "    destination  ${Archive.EventDataStoreArn}",
        "    source       s3://my-trail-logs (${AWS::Region})",
        "    window       2024-01-01T00:00:00+00:00 .. 2025-01-01T00:00:00+00:00",
    ]
    (export,) = [line for line in lines if line.startswith("  export CloudTrailLakeImportServiceToken")]
    assert export.startswith("  export CloudTrailLakeImportServiceToken = ${ProviderFunction")
    backfill = lines.index("  import TrailArchiveBackfill/Backfill/Resource")
    assert lines[backfill + 3] == "    window       2019-01-01T00:00:00+00:00 .. 2024-01-01T00:00:00+00:00"
