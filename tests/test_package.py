"""A wheel built from the repo installs outside it, and an app using TrailImport synthesizes there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from tests.assembly import handler_asset
from tests.fresh_env import build_wheel

ROOT = Path(__file__).resolve().parent.parent

APP = textwrap.dedent('''
    import json, sys
    from datetime import datetime, timezone
    import aws_cdk as cdk
    from aws_cdk import aws_s3
    import cloudtrail_lake_import, trail_import_handler
    from cloudtrail_lake_import import TrailImport

    app = cdk.App(outdir=sys.argv[1])
    stack = cdk.Stack(app, "WheelUser")
    TrailImport(stack, "Import", event_data_store="arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/a",
                source_bucket=aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs"),
                start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    app.synth()
    print(json.dumps({"construct": cloudtrail_lake_import.__file__, "handler": trail_import_handler.__file__}))
''')


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("dist"))


def test_app_outside_the_repo_synthesizes_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # The dependencies come from this environment's site-packages as a plain path: its .pth files
    # (the editable install of this repo among them) are not processed there.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
                    str(wheel)], check=True, capture_output=True, timeout=600)
    (tmp_path / "app.py").write_text(APP)
    out = tmp_path / "cdk.out"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "CDK_OUTDIR")}
    result = subprocess.run([str(python), "app.py", str(out)], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    origin = json.loads(result.stdout.strip().splitlines()[-1])
    assert origin["construct"].startswith(str(venv))
    command = subprocess.run([str(venv / "bin" / "cloudtrail-lake-import"), "--help"], env=env, capture_output=True,
                             text=True, timeout=120, check=False)
    assert command.returncode == 0, command.stderr
    assert "preflight" in command.stdout
    assert origin["handler"].startswith(str(venv))
    asset = handler_asset(out, "WheelUser")
    assert sorted(p.name for p in asset.iterdir()) == ["trail_import_handler"]
    assert not list(asset.rglob("__pycache__"))
    # The same handler content gives the same asset hash as a synth from the checkout.
    from aws_cdk import App, Stack, aws_s3

    from cloudtrail_lake_import import TrailImport

    app = App(outdir=str(tmp_path / "repo.out"))
    stack = Stack(app, "WheelUser")
    TrailImport(stack, "Import", event_data_store="arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/a",
                source_bucket=aws_s3.Bucket.from_bucket_name(stack, "Logs", "trail-logs"))
    app.synth()
    assert handler_asset(tmp_path / "repo.out", "WheelUser").name == asset.name


def _resolve(wheel: Path, pin: str, report: Path) -> subprocess.CompletedProcess[str]:
    """What pip would install for an app that pins ``pin`` beside the wheel (nothing is installed)."""
    return subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                           "--report", str(report), str(wheel), pin],
                          capture_output=True, text=True, timeout=300, check=False)


def test_an_app_pinned_to_another_aws_cdk_lib_in_the_range_resolves_with_the_wheel(wheel: Path,
                                                                                     tmp_path: Path) -> None:
    from importlib.metadata import version

    other = "2.272.0"
    assert other != version("aws-cdk-lib"), "a version other than this environment's"
    result = _resolve(wheel, f"aws-cdk-lib=={other}", tmp_path / "report.json")
    assert result.returncode == 0, result.stderr[-2000:]
    chosen = {i["metadata"]["name"]: i["metadata"]["version"]
              for i in json.loads((tmp_path / "report.json").read_text())["install"]}
    assert chosen["aws-cdk-lib"] == other
    assert chosen["cdk-cloudtrail-lake-import"] == version("cdk-cloudtrail-lake-import")


def test_an_aws_cdk_lib_below_the_floor_is_refused(wheel: Path, tmp_path: Path) -> None:
    result = _resolve(wheel, "aws-cdk-lib==2.268.0", tmp_path / "report.json")
    assert result.returncode != 0
    assert "Cannot install aws-cdk-lib==2.268.0 and cdk-cloudtrail-lake-import" in result.stderr
    assert "ResolutionImpossible" in result.stderr


def test_wheel_holds_the_two_packages_their_type_markers_the_type_schema_and_the_testing_javascript_only(
        wheel: Path) -> None:
    import zipfile

    names = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    expected = {f"{package}/{path.relative_to(source).as_posix()}"
                for package, source in (("cloudtrail_lake_import", ROOT / "constructs" / "cloudtrail_lake_import"),
                                        ("trail_import_handler", ROOT / "lambda" / "trail_import_handler"))
                for path in source.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts
                and (path.suffix in (".py", ".js") or path.name in ("py.typed", "resource_type_schema.json"))}
    assert names == expected
    assert {"cloudtrail_lake_import/py.typed", "trail_import_handler/py.typed",
            "cloudtrail_lake_import/testing/framework_bridge.js",
            "cloudtrail_lake_import/testing/framework_outbound.js"} <= names
    assert not [n for n in names if n.startswith(("tests/", "cdk.out/", "bench/", "scripts/", "examples/"))]
