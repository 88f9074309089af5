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
    bucket = _bucket_arn(source)
    return _compact({
        "Effect": "Allow", "Principal": {"AWS": _account_root(source.access_role_arn)},
        "Action": ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject"], "Resource": [bucket, f"{bucket}/*"],
        "Condition": {"ArnEquals": {"aws:PrincipalArn": source.access_role_arn}},
    })


def key_statement(source: ImportSource, destination: str) -> str:
    """The statement the policy of each KMS key of the logs must hold, as compact JSON: decrypting this bucket's
    objects on behalf of the importing account and ``destination`` only, as the guide writes it."""
    return _compact({
        "Effect": "Allow", "Principal": {"AWS": _account_root(source.access_role_arn)}, "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"ArnEquals": {"aws:PrincipalArn": source.access_role_arn},
                      "StringLike": {"kms:EncryptionContext:aws:s3:arn": f"{_bucket_arn(source)}/*"},
                      "StringEquals": {"aws:SourceAccount": _account(source.access_role_arn),
                                       "aws:SourceArn": destination}},
    })


def _bucket_arn(source: ImportSource) -> str:
    # S3 ARNs name no account or region; the partition is the role's.
    return f"arn:{source.access_role_arn.split(':')[1]}:s3:::{source.bucket}"


def _account(role_arn: str) -> str:
    return role_arn.split(":")[4]


def _account_root(role_arn: str) -> str:
    return f"arn:{role_arn.split(':')[1]}:iam::{_account(role_arn)}:root"


def _compact(statement: dict[str, object]) -> str:
    return json.dumps(statement, separators=(",", ":"))
