"""What CloudTrail checks in IAM when an import starts, and the errors it answers with.

The caller must be allowed iam:PassRole on the access role, passed to
cloudtrail.amazonaws.com (StartImport's dependent action). CloudTrail must be
able to assume the access role on behalf of the importing account and the
destination, and the role must list the bucket, read its ACL, read the
window's log files and decrypt them with the bucket's KMS key. Within one
account the role's own policies decide; for a bucket or key of another
account, its bucket or key policy must allow the role too (the CloudTrail
User Guide, "Copying trail events to CloudTrail Lake"; the IAM User Guide,
"Cross-account policy evaluation logic").

The service model documents InsufficientEncryptionPolicyException for a
bucket or key policy that does not allow the operation and
InvalidImportSourceException for a source that is not valid for import: a
role CloudTrail cannot assume or that cannot read is answered with the second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .iam_policy import Request
from .iam_reference import resource_for
from .iam_world import IamWorld, denial_message
from .service_error import ServiceError

CLOUDTRAIL = "cloudtrail.amazonaws.com"


def check_import_access(world: IamWorld, *, caller: str | None, destination: str, source: dict[str, Any],
                        start: datetime | None, account: str, region: str) -> None:
    """Raise the ``ServiceError`` CloudTrail answers when IAM would stop this import; else return."""
    role_arn = source["S3BucketAccessRoleArn"]
    if caller is not None:
        passed = world.authorize(Request(caller, "iam:PassRole", role_arn,
                                         {"iam:PassedToService": CLOUDTRAIL}))
        if not passed.allowed:
            raise ServiceError("AccessDeniedException", denial_message(passed))
    on_behalf = {"aws:SourceAccount": account, "aws:SourceArn": destination}
    assumed = world.may_assume(CLOUDTRAIL, role_arn, on_behalf)
    if not assumed.allowed:
        raise ServiceError("InvalidImportSourceException",
                           f"CloudTrail cannot assume {role_arn} for {destination}: {assumed.why}.")
    bucket_name, _, prefix = source["S3LocationUri"].removeprefix("s3://").partition("/")
    bucket = world.bucket(bucket_name)
    values = {"Partition": "aws", "Region": region, "Account": account, "BucketName": bucket_name,
              "ObjectName": _sample_key(prefix, account, region, start)}
    context = {**on_behalf, "aws:PrincipalArn": role_arn, "aws:PrincipalAccount": role_arn.split(":")[4]}
    reads = [("s3:ListBucket", {"s3:prefix": prefix}), ("s3:GetBucketAcl", {}), ("s3:GetObject", {})]
    for action, extra in reads:
        request = Request(role_arn, action, resource_for(action, values), {**context, **extra})
        _answer(world.authorize(request, resource_policy=bucket.policy, resource_account=bucket.account),
                f"bucket {bucket_name}")
    if bucket.key_arn:
        key = world.keys.get(bucket.key_arn)
        object_arn = resource_for("s3:GetObject", values)
        request = Request(role_arn, "kms:Decrypt", bucket.key_arn,
                          {**context, "kms:EncryptionContext:aws:s3:arn": object_arn})
        _answer(world.authorize(request, resource_policy=key.policy if key else None,
                                resource_account=bucket.key_arn.split(":")[4]), f"KMS key {bucket.key_arn}")


def _answer(decision: Any, what: str) -> None:
    if decision.allowed:
        return
    request = decision.request
    if "resource policy" in decision.why:
        raise ServiceError("InsufficientEncryptionPolicyException",
                           f"The policy of {what} does not allow {request.principal} {request.action} on "
                           f"{request.resource}.")
    raise ServiceError("InvalidImportSourceException",
                       f"Access role {request.principal} may not {request.action} on {request.resource}: "
                       f"{decision.why}.")


def _sample_key(prefix: str, account: str, region: str, start: datetime | None) -> str:
    """A log file key in the window, laid out as CloudTrail writes them."""
    day = start or datetime(2024, 1, 1)
    stamp = day.strftime("%Y%m%dT%H%MZ")
    key = (f"AWSLogs/{account}/CloudTrail/{region}/{day:%Y/%m/%d}/"
           f"{account}_CloudTrail_{region}_{stamp}_a1b2c3d4e5f6.json.gz")
    return f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key
