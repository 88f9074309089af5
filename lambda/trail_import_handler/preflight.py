"""Preflight: what an import will read, what it will cost, and what would stop it, before it starts.

``check_source`` is the cheap part the handler runs on Create: the bucket's
region, ACLs disabled, and at least one trail log file in the window.
``run_preflight`` is the whole report the CLI prints: every file in the
window, a sample read to estimate uncompressed bytes and events, and the
ingestion charge per pricing option.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from . import clients, source_grants
from .pricing import PRICES_AS_OF, PRICES_REGION, ingestion_cost
from .properties import ImportSource, ImportWindow
from .trail_logs import Findings, TrailLogFile, find_log_files


@dataclass(frozen=True)
class Problem:
    """Something that would make the import fail (blocking) or surprise its owner."""

    blocking: bool
    message: str
    denied: bool = False
    """The check could not run: the caller may not read the bucket (a warning, never blocking)."""


@dataclass
class PreflightReport:
    """The whole preflight of one import's source and window."""

    source: ImportSource
    window: ImportWindow
    problems: list[Problem]
    findings: Findings
    sampled_files: int = 0
    uncompressed_bytes: int = 0
    events: int = 0
    costs: dict[str, float] = field(default_factory=dict)

    @property
    def blocking(self) -> list[Problem]:
        return [p for p in self.problems if p.blocking]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {
            "source": self.source.uri, "region": self.source.region,
            "window": {"start": _iso(self.window.start), "end": _iso(self.window.end)},
            "problems": [{"blocking": p.blocking, "message": p.message} for p in self.problems],
            "files": len(self.findings.files), "regions": self.findings.regions,
            "compressed_bytes": self.findings.compressed_bytes,
            "estimated_uncompressed_bytes": self.uncompressed_bytes, "estimated_events": self.events,
            "sampled_files": self.sampled_files,
            "estimated_cost_usd": self.costs, "prices": {"as_of": PRICES_AS_OF, "region": PRICES_REGION},
            "digest_prefixes": self.findings.digest_prefixes, "other_objects": self.findings.other_objects[:50],
            "list_requests": self.findings.list_requests,
        }


def s3_client(region: str) -> Any:
    """An S3 client for the source bucket's region."""
    return clients.client("s3", region_name=region)


def check_source(s3: Any, source: ImportSource, window: ImportWindow) -> list[Problem]:
    """The cheap checks: region, ACLs, and at least one log file in the window."""
    problems = check_bucket(s3, source)
    if any(p.blocking or p.denied for p in problems):
        return problems
    try:
        findings = find_log_files(s3, source, window, enough=1)
    except ClientError as error:
        if _code(error) not in _DENIED:
            raise
        return [*problems, _bucket_error(source.bucket, error, "s3:ListBucket")]
    if not findings.files:
        problems.append(_no_files(source, window))
    return problems


def check_bucket(s3: Any, source: ImportSource) -> list[Problem]:
    """The bucket exists in S3BucketRegion and its ACLs are disabled (BucketOwnerEnforced)."""
    bucket = source.bucket
    try:
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    except ClientError as error:
        return [_bucket_error(bucket, error, "s3:GetBucketLocation")]
    location = {"EU": "eu-west-1"}.get(location, location)
    problems = []
    if location != source.region:
        problems.append(Problem(True, f"Bucket {bucket} is in {location}, not in {source.region}: "
                                      f"set S3BucketRegion to {location}."))
    try:
        rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        ownership = rules[0]["ObjectOwnership"] if rules else "ObjectWriter"
    except ClientError as error:
        if _code(error) != "OwnershipControlsNotFoundError":
            return [*problems, _bucket_error(bucket, error, "s3:GetBucketOwnershipControls")]
        ownership = "ObjectWriter"
    if ownership != "BucketOwnerEnforced":
        problems.append(Problem(True, f"Bucket {bucket} has ACLs enabled (Object Ownership {ownership}); "
                                      "CloudTrail imports only from buckets with ACLs disabled: set Object "
                                      "Ownership to BucketOwnerEnforced."))
    return problems


def check_encryption(s3: Any, iam: Any, source: ImportSource, role_arn: str) -> list[Problem]:
    """With SSE-KMS, the access role's own policies must allow kms:Decrypt on the bucket's key."""
    try:
        rules = s3.get_bucket_encryption(Bucket=source.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError:
        return []
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    key = default.get("KMSMasterKeyID")
    if default.get("SSEAlgorithm") not in ("aws:kms", "aws:kms:dsse") or not key:
        return []
    role_name = role_arn.rsplit("/", 1)[-1]
    if not any(_allows_decrypt(doc, key) for doc in _role_policies(iam, role_name)):
        return [Problem(True, f"The logs are encrypted with KMS key {key}, and access role {role_name} has no "
                              "policy allowing kms:Decrypt on it (the key policy must allow it too).")]
    return []


def check_bucket_policy(s3: Any, source: ImportSource) -> list[Problem]:
    """The bucket policy names the access role, as the CloudTrail User Guide asks ("Before you copy trail events,
    you must update the S3 bucket policy"); a warning quoting the statement when it does not."""
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=source.bucket)["Policy"])
    except ClientError as error:
        if _code(error) in _DENIED:
            return [_bucket_error(source.bucket, error, "s3:GetBucketPolicy")]
        if _code(error) != "NoSuchBucketPolicy":
            raise
        policy = {}
    if source.access_role_arn in json.dumps(policy):
        return []
    return [Problem(False, f"The policy of bucket {source.bucket} does not name access role "
                           f"{source.access_role_arn}; the guide asks for this statement, and a bucket of another "
                           f"account needs it: {source_grants.bucket_statement(source)}")]


def run_preflight(s3: Any, source: ImportSource, window: ImportWindow, *, iam: Any = None,
                  role_arn: str | None = None, sample_size: int = 5, workers: int = 8) -> PreflightReport:
    """Everything the import would read and cost, and every problem found on the way."""
    problems = check_bucket(s3, source)
    if iam is not None and role_arn:
        problems += check_encryption(s3, iam, source, role_arn)
    if role_arn:
        problems += check_bucket_policy(s3, source)
    findings = find_log_files(s3, source, window, workers=workers)
    if not findings.files:
        problems.append(_no_files(source, window))
    if findings.digest_prefixes:
        problems.append(Problem(False, f"Digest files under {', '.join(findings.digest_prefixes[:3])} are not "
                                       "events; the import skips them."))
    if findings.other_objects:
        problems.append(Problem(False, f"{len(findings.other_objects)} object(s) are not CloudTrail log files, "
                                       f"such as {findings.other_objects[0]}; the import skips or fails on them."))
    report = PreflightReport(source, window, problems, findings)
    _estimate(s3, source.bucket, findings.files, sample_size, report)
    return report


def _estimate(s3: Any, bucket: str, files: list[TrailLogFile], sample_size: int, report: PreflightReport) -> None:
    """Read an evenly spread sample of files; scale their bytes and events to the whole window."""
    if not files or sample_size <= 0:
        return
    step = max(1, len(files) // sample_size)
    sample = files[::step][:sample_size]
    compressed = uncompressed = events = 0
    for log in sample:
        body = s3.get_object(Bucket=bucket, Key=log.key)["Body"].read()
        data = gzip.decompress(body)
        compressed += len(body)
        uncompressed += len(data)
        events += len(json.loads(data).get("Records", []))
    ratio = report.findings.compressed_bytes / compressed if compressed else 0
    report.sampled_files = len(sample)
    report.uncompressed_bytes = int(uncompressed * ratio)
    report.events = int(events * ratio)
    report.costs = ingestion_cost(report.uncompressed_bytes)


def _no_files(source: ImportSource, window: ImportWindow) -> Problem:
    span = f"between {_iso(window.start) or 'any date'} and {_iso(window.end) or 'any date'}"
    return Problem(True, f"No CloudTrail log file under {source.uri} is dated {span}: check S3LocationUri, "
                         "StartEventTime and EndEventTime.")


def _bucket_error(bucket: str, error: ClientError, action: str) -> Problem:
    code = _code(error)
    if code == "NoSuchBucket":
        return Problem(True, f"Bucket {bucket} does not exist: check S3LocationUri.")
    if code in _DENIED:
        # Reads are not what the import needs (its access role's are), and a bucket of another account
        # may deny them while allowing the access role: a warning, never a reason to stop.
        return Problem(False, f"Access denied reading bucket {bucket} ({action}); the check was skipped. The "
                              f"caller needs {action} on it, and a bucket of another account must grant it in its "
                              "bucket policy too.", denied=True)
    return Problem(True, f"Bucket {bucket}: {code}: {error}")


# Every request here is a GET, whose error answer S3 writes as XML with its code; only a HEAD's answer has no body,
# which botocore reports by its status ("404", "403") instead.
_DENIED = ("AccessDenied",)


def _role_policies(iam: Any, role_name: str) -> list[dict[str, Any]]:
    # IAM answers each document URL-encoded; botocore decodes it into a dict (handlers.json_decode_policies).
    documents: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role_name).get("PolicyNames", []):
        documents.append(dict(iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]))
    for attached in iam.list_attached_role_policies(RoleName=role_name).get("AttachedPolicies", []):
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        documents.append(dict(version["PolicyVersion"]["Document"]))
    return documents


def _allows_decrypt(document: dict[str, Any], key: str) -> bool:
    for statement in _listed(document.get("Statement")):
        actions = [str(a) for a in _listed(statement.get("Action"))]
        resources = [str(r) for r in _listed(statement.get("Resource"))]
        if statement.get("Effect") == "Allow" and any(_iam_match(a, "kms:Decrypt", case=False) for a in actions) \
                and any(_names_key(r, key) for r in resources):
            return True
    return False


def _names_key(resource: str, key: str) -> bool:
    """Whether a policy's Resource covers the key the bucket names: by key ARN, or by key id alone (S3 takes
    either), which only the resource part of the policy's ARN can be matched against."""
    if key.startswith("arn:"):
        return _iam_match(resource, key)
    part = resource.split(":", 5)[5] if resource.count(":") >= 5 else resource
    return _iam_match(part, f"key/{key}")


def _iam_match(pattern: str, value: str, *, case: bool = True) -> bool:
    # IAM's wildcards in actions and resources: * any run of characters, ? one (IAM User Guide, "IAM JSON policy
    # elements: Resource" and "Action"); action names are not case sensitive, ARNs are.
    expression = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(expression, value, 0 if case else re.IGNORECASE) is not None


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
