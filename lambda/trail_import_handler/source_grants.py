"""The bucket and key policy statements an access role needs, written out for a failure reason.

They are the CloudTrail User Guide's ("Copying trail events to CloudTrail
Lake": the S3 bucket policy and the KMS key policy for copying trail events),
with the principal written as the role's account narrowed by aws:PrincipalArn,
as ``cloudtrail_lake_import.source_access`` writes them in CDK.
"""

from __future__ import annotations

import json

from .properties import ImportSource


def bucket_statement(source: ImportSource) -> str:
    """The statement the source bucket's policy must hold, as compact JSON."""
    bucket = f"arn:aws:s3:::{source.bucket}"
    return _compact({
        "Effect": "Allow", "Principal": {"AWS": _account_root(source.access_role_arn)},
        "Action": ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject"], "Resource": [bucket, f"{bucket}/*"],
        "Condition": {"ArnEquals": {"aws:PrincipalArn": source.access_role_arn}},
    })


def key_statement(source: ImportSource) -> str:
    """The statement the policy of each KMS key of the logs must hold, as compact JSON."""
    return _compact({
        "Effect": "Allow", "Principal": {"AWS": _account_root(source.access_role_arn)}, "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": source.access_role_arn},
                      "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{source.bucket}/*"}},
    })


def _account_root(role_arn: str) -> str:
    parts = role_arn.split(":")
    return f"arn:{parts[1]}:iam::{parts[4]}:root"


def _compact(statement: dict[str, object]) -> str:
    return json.dumps(statement, separators=(",", ":"))
