"""IAM policy evaluation for the policies this project writes: identity, trust, bucket and key policies.

It follows the IAM User Guide's evaluation logic ("Policy evaluation logic",
"Cross-account policy evaluation logic"): an explicit Deny wins; within an
account an Allow in the identity policy or the resource policy suffices;
across accounts both must allow. Statements match on Action/NotAction and
Resource/NotResource (wildcards ``*`` and ``?``), Principal for resource and
trust policies, and Condition with the String, Arn and Bool operators,
``...IfExists`` and ``ForAnyValue:``/``ForAllValues:``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

Document = Mapping[str, Any]


@dataclass(frozen=True)
class Request:
    """One authorization question: may ``principal`` do ``action`` on ``resource``, given ``context``."""

    principal: str
    """An IAM role ARN, or a service principal such as ``cloudtrail.amazonaws.com``."""
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)

    @property
    def account(self) -> str:
        """The principal's account ('' for a service principal)."""
        parts = self.principal.split(":")
        return parts[4] if len(parts) > 5 and parts[0] == "arn" else ""


def decide(documents: Iterable[Document], request: Request, *, resource_policy: bool = False) -> str | None:
    """``"Deny"`` if a statement denies, else ``"Allow"`` if one allows, else None (implicitly denied)."""
    allowed = False
    for document in documents:
        for statement in _listed(document.get("Statement")):
            if not _matches(statement, request, resource_policy):
                continue
            if statement.get("Effect") == "Deny":
                return "Deny"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "Allow" if allowed else None


def _matches(statement: Mapping[str, Any], request: Request, resource_policy: bool) -> bool:
    if "Action" in statement:
        if not any(_like(p, request.action, case=False) for p in _listed(statement["Action"])):
            return False
    elif any(_like(p, request.action, case=False) for p in _listed(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(_like(p, request.resource) for p in _listed(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(_like(p, request.resource) for p in _listed(statement["NotResource"])):
        return False
    if resource_policy and not _principal_matches(statement.get("Principal"), request):
        return False
    return all(_condition(op, key, values, request.context)
               for op, block in dict(statement.get("Condition") or {}).items()
               for key, values in dict(block).items())


def _principal_matches(principal: Any, request: Request) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if request.account:
        for entry in _listed(principal.get("AWS")):
            if entry in ("*", request.principal, request.account, f"arn:aws:iam::{request.account}:root"):
                return True
        return False
    return request.principal in _listed(principal.get("Service"))


def _condition(operator: str, key: str, values: Any, context: Mapping[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    qualifier, _, operator = operator.rpartition(":")
    actual = next((v for k, v in context.items() if k.lower() == key.lower()), None)
    negated = "Not" in operator
    if actual is None:
        return if_exists or negated
    expected = [str(v) for v in _listed(values)]
    test = _OPERATORS.get(operator.replace("Not", ""))
    if test is None:
        raise NotImplementedError(f"condition operator {operator} is not modelled")
    actuals = actual if isinstance(actual, list) else [actual]
    if qualifier == "ForAllValues":
        hit = all(any(test(e, a) for e in expected) for a in actuals)
    else:
        hit = any(test(e, a) for e in expected for a in actuals)
    return not hit if negated else hit


def _like(pattern: str, value: str, *, case: bool = True) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    # ArnLike compares the six colon-separated parts each on its own.
    parts, actual = pattern.split(":", 5), value.split(":", 5)
    return len(parts) == len(actual) == 6 and all(_like(p, a) for p, a in zip(parts, actual, strict=True))


_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda e, a: e == a,
    "StringEqualsIgnoreCase": lambda e, a: e.lower() == a.lower(),
    "StringLike": _like,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
    "Bool": lambda e, a: e.lower() == a.lower(),
}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]
