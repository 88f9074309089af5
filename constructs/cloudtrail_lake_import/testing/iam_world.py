"""The IAM side of the accounts a test deploys into: roles, buckets, keys and their policies, and who may do what.

Load it from synthesized templates (``load``), as CloudFormation would deploy
them, and every request the simulator or the enforcement hook sees is
authorized against those policies: the handler's own calls, the iam:PassRole
that StartImport needs, and what CloudTrail does with the access role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .deployment import Deployment
from .iam_policy import Document, Request, decide
from .iam_reference import check_condition_keys


@dataclass
class Role:
    """An IAM role: who may assume it, and its identity policies."""

    arn: str
    trust: Document
    policies: list[Document] = field(default_factory=list)


@dataclass
class Bucket:
    """An S3 bucket: its account, bucket policy, and default SSE-KMS key."""

    name: str
    account: str
    policy: Document | None = None
    key_arn: str | None = None


@dataclass
class Key:
    """A KMS key and its key policy."""

    arn: str
    policy: Document

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


@dataclass(frozen=True)
class Decision:
    """One authorized request and its answer."""

    request: Request
    allowed: bool
    why: str


class IamWorld:
    """Roles, buckets and keys of one or more accounts, and every authorization decided against them."""

    def __init__(self, *, default_account: str = "111122223333") -> None:
        self.default_account = default_account
        """The account of a template added without one."""
        self.roles: dict[str, Role] = {}
        """Roles by ARN, each with its policies."""
        self.buckets: dict[str, Bucket] = {}
        """Buckets by name, each with its bucket policy."""
        self.keys: dict[str, Key] = {}
        """KMS keys by ARN, each with its key policy."""
        self.decisions: list[Decision] = []
        """Every authorization decided, in order: what was asked, as whom, and whether it was allowed."""

    def load(self, template: Mapping[str, Any], *, account: str, region: str,
             names: Mapping[str, str] | None = None) -> Deployment:
        """Add the roles, policies, buckets and keys of a synthesized template, deployed in ``account``."""
        stack = Deployment(template, account=account, region=region, names=names)
        for logical, props in stack.of_type("AWS::IAM::Role").items():
            role = self.roles.setdefault(stack.arn(logical), Role(stack.arn(logical), {}))
            role.trust = props["AssumeRolePolicyDocument"]
            role.policies += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for props in stack.of_type("AWS::IAM::Policy").values():
            for name in props.get("Roles", []):
                arn = f"arn:aws:iam::{account}:role/{name}"
                self.roles.setdefault(arn, Role(arn, {})).policies.append(props["PolicyDocument"])
        for logical, props in stack.of_type("AWS::KMS::Key").items():
            self.keys[stack.arn(logical)] = Key(stack.arn(logical), props["KeyPolicy"])
        for logical, props in stack.of_type("AWS::S3::Bucket").items():
            rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
            key = next((r["ServerSideEncryptionByDefault"].get("KMSMasterKeyID") for r in rules
                        if r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") == "aws:kms"), None)
            self.add_bucket(stack.physical_name(logical), account=account, key_arn=key)
        for props in stack.of_type("AWS::S3::BucketPolicy").values():
            self.bucket(props["Bucket"]).policy = props["PolicyDocument"]
        return stack

    def add_bucket(self, name: str, *, account: str, policy: Document | None = None,
                   key_arn: str | None = None) -> Bucket:
        """A bucket that no loaded template defines, such as one imported from another account."""
        self.buckets[name] = Bucket(name, account, policy, key_arn)
        return self.buckets[name]

    def bucket(self, name: str) -> Bucket:
        """The bucket; one no template defines belongs to the default account, with no policy and no KMS key."""
        return self.buckets.get(name) or Bucket(name, self.default_account)

    def may_assume(self, service: str, role_arn: str, context: Mapping[str, str]) -> Decision:
        """Whether ``service`` may assume ``role_arn`` (its trust policy), with ``context``."""
        request = Request(service, "sts:AssumeRole", role_arn, context)
        role = self.roles.get(role_arn)
        allowed = role is not None and decide([role.trust], request, resource_policy=True) == "Allow"
        why = "no such role" if role is None else "" if allowed else "its trust policy does not allow it"
        return self._decided(request, allowed, why)

    def authorize(self, request: Request, *, resource_policy: Document | None = None,
                  resource_account: str | None = None) -> Decision:
        """IAM's answer to ``request``, the identity policies of its principal and a resource policy considered."""
        check_condition_keys(request.action, [k for k in request.context if not k.lower().startswith("aws:")])
        role = self.roles.get(request.principal)
        identity = decide(role.policies if role else [], request)
        resource = decide([resource_policy], request, resource_policy=True) if resource_policy else None
        cross_account = resource_account is not None and resource_account != request.account
        if "Deny" in (identity, resource):
            allowed, why = False, "an explicit Deny"
        elif cross_account:
            allowed = identity == resource == "Allow"
            why = "" if allowed else ("the resource policy of the other account does not allow it"
                                      if identity == "Allow" else "no identity-based policy allows it")
        else:
            allowed = "Allow" in (identity, resource)
            why = "" if allowed else "no identity-based policy allows it"
        return self._decided(request, allowed, why)

    def _decided(self, request: Request, allowed: bool, why: str) -> Decision:
        decision = Decision(request, allowed, why)
        self.decisions.append(decision)
        return decision


def denial_message(decision: Decision) -> str:
    """AWS's wording of an AccessDenied answer."""
    request = decision.request
    return (f"User: {request.principal} is not authorized to perform: {request.action} on resource: "
            f"{request.resource} because {decision.why}")
