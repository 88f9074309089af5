"""Acknowledgements for cdk-nag's AwsSolutions findings, each with its reason, as narrow as the finding.

cdk-nag names a wildcard finding by the resource as it reads in the template
(``arn:<AWS::Partition>:s3:::bucket/*``, ``<Fn.Arn>:*``); ``finding_text``
renders a resource the same way, so that each acknowledgement covers exactly
one resource and no other.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` (with its finding, if any) on ``scope`` and its children."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))


def acknowledge_wildcard(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for one resource ARN (a string or a token) on ``scope``."""
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{finding_text(Stack.of(scope).resolve(resource))}]", reason)


def finding_text(value: Any, reference: str = "<{}>") -> str:
    """A resolved CloudFormation value written as cdk-nag writes it in finding ids.

    ``reference`` formats a Ref or GetAtt; ``"${{{}}}"`` writes them as ``Fn::Sub`` does, for people to read.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (function, argument), = value.items()
        if function == "Ref":
            return reference.format(argument)
        if function == "Fn::GetAtt":
            return reference.format(f"{argument[0]}.{argument[1]}")
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(finding_text(part, reference) for part in parts)
        if function in ("Fn::Select", "Fn::Split"):
            # cdk-nag writes the other functions as their compact JSON.
            return json.dumps(value, separators=(",", ":"))
    raise ValueError(f"cannot name a finding for {value!r}")
