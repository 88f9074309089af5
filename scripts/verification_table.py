"""Print the AWS CLI's verdict and ours side by side for every tampering case of tests/test_verification_judge.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "constructs"), str(ROOT / "lambda")]
for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ.setdefault(name, value)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, SignedArchive  # noqa: E402
from tests import test_verification_judge as judge  # noqa: E402


def main() -> None:
    print("| case | AWS CLI exit | AWS CLI INVALID | ours exit | our problems (kind: count) | our notices |")
    print("|---|---:|---|---:|---|---|")
    for case in judge.CASES:
        simulator = CloudTrailImportSimulator()
        with mock_aws():
            s3 = boto3.client("s3", region_name=judge.REGION)
            s3.create_bucket(Bucket=judge.BUCKET)
            signed = SignedArchive(s3, judge.BUCKET)
            simulator.public_keys.append(signed.key.entry())
            signed.write([judge.ACCOUNT], [judge.REGION], judge.WRITTEN_FROM, judge.WRITTEN_HOURS)
            case(signed)
            theirs, mine = judge.both(signed, simulator)
        kinds: dict[str, int] = {}
        for p in mine.report.get("problems", []):
            kinds[p["kind"]] = kinds.get(p["kind"], 0) + 1
        notices = sorted({n["kind"] for n in mine.report.get("notices", [])})
        print(f"| {case.__name__.replace('_', ' ')} | {theirs.exit_code} | {len(theirs.invalid)} | {mine.exit_code} | "
              f"{', '.join(f'{k}: {v}' for k, v in sorted(kinds.items())) or '-'} | {', '.join(notices) or '-'} |")


if __name__ == "__main__":
    main()
