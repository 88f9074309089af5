"""What the owner of a source bucket (and of its KMS key) grants an access role, so that CloudTrail can read the logs.

The statements are the CloudTrail User Guide's, "Copying trail events to
CloudTrail Lake": "Amazon S3 bucket policy for copying trail events"
(s3:ListBucket, s3:GetBucketAcl and s3:GetObject on the bucket and its
objects) and "KMS key policy for decrypting data in the source S3 bucket"
(kms:Decrypt, with kms:EncryptionContext:aws:s3:arn and the confused-deputy
conditions). The importing account may differ from the bucket's account, as
with an organization trail bucket in a log-archive account.

One deliberate difference in form, not in scope: the principal is the access
role's account, narrowed to the role by ``aws:PrincipalArn``, where the guide
names the role itself. S3 and KMS reject a policy whose principal is a role
that does not exist yet, so a role principal would force the importing stack
to deploy before the bucket owner's, while its import needs the policy in
place: a deadlock across two stacks. And a role principal is stored as the
role's unique id, so a role that is replaced silently loses the grant;
``aws:PrincipalArn`` matches the role by name, whenever it was made.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_cdk import Arn, ArnFormat, Stack, Token, aws_iam, aws_kms, aws_s3
from constructs import IConstruct

from ._nag import finding_text

BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject"]


@dataclass(frozen=True)
class SourceAccess:
    """The statements a bucket owner adds for one access role and destination.

    ``bucket_statement`` goes into the bucket policy; ``key_statement``, when
    the logs are SSE-KMS encrypted, into the policy of each key they use.
    """

    bucket_statement: aws_iam.PolicyStatement
    """For the bucket policy: s3:ListBucket, s3:GetBucketAcl, s3:GetObject on the bucket and its objects."""
    key_statement: aws_iam.PolicyStatement | None
    """For the KMS key policy: kms:Decrypt of this bucket's objects, on behalf of the destination only."""

    def to_json(self, scope: IConstruct) -> str:
        """The statements as JSON, for a bucket owner who applies them by hand (tokens as ``${...}``)."""
        statements = [self.bucket_statement] + ([self.key_statement] if self.key_statement else [])
        return json.dumps([readable(scope, s) for s in statements], indent=2)


def readable(scope: IConstruct, statement: aws_iam.PolicyStatement) -> dict[str, Any]:
    """``statement`` as the JSON a policy holds, resolved in ``scope``'s stack, every Ref and GetAtt left in it
    written as ``${...}``."""
    value = _readable(Stack.of(scope).resolve(statement.to_statement_json()))
    assert isinstance(value, dict)
    return value


def source_access(*, bucket_arn: str, access_role_arn: str, event_data_store_arn: str,
                  encrypted: bool = False, key_limited_to_bucket: bool = True,
                  importing_account: str | None = None) -> SourceAccess:
    """The documented bucket (and key) policy statements that let ``access_role_arn`` read ``bucket_arn``.

    :param bucket_arn: the source bucket, ``arn:aws:s3:::BUCKET``.
    :param access_role_arn: the role CloudTrail assumes to read the bucket (it may not exist yet).
    :param event_data_store_arn: the destination; the key statement is limited to imports into it.
    :param encrypted: the logs are SSE-KMS encrypted: also make the key policy statement. Default: False.
    :param key_limited_to_bucket: the key statement carries the kms:EncryptionContext:aws:s3:arn condition.
        Default: True. Leave it out only where a key policy naming the bucket would make a dependency cycle
        (a bucket with a generated name and its key in one template); the role's own policy keeps it.
    :param importing_account: the access role's account. Default: read from ``access_role_arn``.
    """
    importing_account = importing_account or Arn.split(access_role_arn, ArnFormat.SLASH_RESOURCE_NAME).account or ""
    role = aws_iam.AccountPrincipal(importing_account)
    only_the_role = {"ArnEquals": {"aws:PrincipalArn": access_role_arn}}
    bucket_statement = aws_iam.PolicyStatement(
        sid="AWSCloudTrailImportBucketAccess",
        actions=BUCKET_ACTIONS,
        principals=[role],
        resources=[bucket_arn, f"{bucket_arn}/*"],
        conditions=only_the_role,
    )
    key_statement = None
    if encrypted:
        key_statement = aws_iam.PolicyStatement(
            sid="AWSCloudTrailImportDecrypt",
            actions=["kms:Decrypt"],
            principals=[role],
            resources=["*"],
            conditions={**only_the_role, "StringEquals": {"aws:SourceAccount": importing_account}},
        )
        # A pattern of stores (eventdatastore/*) needs ArnLike; one store is matched exactly, as documented.
        if "*" in event_data_store_arn:
            key_statement.add_condition("ArnLike", {"aws:SourceArn": event_data_store_arn})
        else:
            key_statement.add_condition("StringEquals", {"aws:SourceAccount": importing_account,
                                                         "aws:SourceArn": event_data_store_arn})
        if key_limited_to_bucket:
            key_statement.add_condition("StringLike", {"kms:EncryptionContext:aws:s3:arn": f"{bucket_arn}/*"})
    return SourceAccess(bucket_statement, key_statement)


def allow_import_from(bucket: aws_s3.IBucket, *, access_role_arn: str, event_data_store_arn: str,
                      encryption_key: aws_kms.IKey | None = None) -> SourceAccess:
    """For the bucket owner's stack: let ``access_role_arn`` read ``bucket`` (and decrypt with its key).

    Adds the documented statements to the policies of the bucket and the key,
    which must be defined in the caller's app (``Bucket``, ``Key``); an imported
    bucket or key has no policy here to add to, and this raises. Call it with
    the access role's ARN as a string, such as ``ImportAccessRole.role_arn``
    of the importing app or the ARN its owner gave you: the role need not
    exist yet.

    :param bucket: the source bucket.
    :param access_role_arn: the role CloudTrail assumes to read the bucket.
    :param event_data_store_arn: the destination event data store.
    :param encryption_key: the KMS key of SSE-KMS encrypted logs. Default: the bucket's own key, if any.
    """
    key = encryption_key or bucket.encryption_key
    access = source_access(bucket_arn=named_arn(bucket), access_role_arn=access_role_arn,
                           event_data_store_arn=event_data_store_arn, encrypted=key is not None,
                           key_limited_to_bucket=key_limited_to_bucket(bucket, key))
    if not bucket.add_to_resource_policy(access.bucket_statement).statement_added:
        raise ValueError(f"bucket {bucket.node.path} has no policy in this app to add to (it is imported): "
                         f"its owner must add this statement:\n{access.to_json(bucket)}")
    if key is not None and access.key_statement is not None and \
            not key.add_to_resource_policy(access.key_statement).statement_added:
        raise ValueError(f"key {key.node.path} has no policy in this app to add to (it is imported): "
                         f"its owner must add this statement:\n{access.to_json(bucket)}")
    return access


def named_arn(bucket: aws_s3.IBucket) -> str:
    """The bucket's ARN, written from its name where the name is known at synth time.

    A key policy that names the bucket through its ARN attribute would depend on
    the bucket, which depends on the key for its encryption: a cycle.
    """
    name = _known_name(bucket)
    return Stack.of(bucket).format_arn(service="s3", region="", account="", resource=name) if name else \
        bucket.bucket_arn


def key_limited_to_bucket(bucket: aws_s3.IBucket, key: aws_kms.IKey | None) -> bool:
    """False where a key statement naming the bucket would make a cycle (see ``named_arn``)."""
    return not (key is not None and _known_name(bucket) is None and isinstance(bucket, aws_s3.Bucket)
                and isinstance(key, aws_kms.Key) and Stack.of(key) is Stack.of(bucket))


def _known_name(bucket: aws_s3.IBucket) -> str | None:
    """The bucket's name when the app fixes it (its own or an imported bucket's), else None."""
    # physicalName is protected in TypeScript; jsii shows it with a leading underscore.
    name = bucket._physical_name if isinstance(bucket, aws_s3.Bucket) else bucket.bucket_name
    return None if name is None or Token.is_unresolved(name) else str(name)


def _readable(value: object) -> object:
    """A resolved value with every Ref and GetAtt written as ``${...}``."""
    if isinstance(value, dict):
        try:
            return finding_text(value, "${{{}}}")
        except ValueError:
            return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_readable(v) for v in value]
    return value
