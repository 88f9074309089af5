"""Authorize every AWS call a boto3 client makes, as IAM would for the role it runs as.

Attached to a client's (or session's) event system, it records each call's
parameters before botocore serializes them, then, before the call is sent,
asks the ``IamWorld`` whether the role may make it: the action and the
resource ARN come from the Service Authorization Reference (``iam_reference``),
the resource's account and policy from the world. A denied call never reaches
the simulator or moto: it is answered with AccessDenied on the service's own
wire protocol, parsed by botocore as the real answer would be.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from botocore import parsers
from botocore.awsrequest import AWSResponse, HTTPHeaders

from .iam_policy import Request
from .iam_reference import action_for, resource_for
from .iam_world import IamWorld, denial_message

if TYPE_CHECKING:
    from botocore.hooks import BaseEventHooks
    from botocore.model import OperationModel

_PARAMS = "iam_enforcement_params"


class _Raw:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Any:
        yield self._data


class IamEnforcement:
    """Every call on the attached event systems is made as ``principal`` (a role ARN)."""

    def __init__(self, world: IamWorld, principal: str) -> None:
        self.world = world
        """The roles, buckets and keys whose policies decide."""
        self.principal = principal
        """The role ARN every call is made as."""

    def attach(self, events: BaseEventHooks) -> None:
        """Authorize the calls of clients that use ``events``."""
        events.register("before-parameter-build", self._remember, unique_id=f"iam-params-{id(self)}")
        events.register_first("before-call", self._authorize, unique_id=f"iam-authorize-{id(self)}")

    def detach(self, events: BaseEventHooks) -> None:
        """Stop authorizing the calls of clients that use ``events``."""
        events.unregister("before-parameter-build", unique_id=f"iam-params-{id(self)}")
        events.unregister("before-call", unique_id=f"iam-authorize-{id(self)}")

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context[_PARAMS] = dict(params)

    def _authorize(self, model: OperationModel, context: dict[str, Any], **_: Any) -> Any:
        service = model.service_model.signing_name
        params = context.get(_PARAMS, {})
        action = action_for(service, model.name)
        account = self.principal.split(":")[4]
        values = {"Partition": "aws", "Region": str(context.get("client_region") or "us-east-1"),
                  "Account": account}
        values.update(_named(params))
        request = Request(self.principal, action, resource_for(action, values), _context(action, params))
        bucket = self.world.bucket(params["Bucket"]) if service == "s3" and "Bucket" in params else None
        decision = self.world.authorize(request, resource_policy=bucket.policy if bucket else None,
                                        resource_account=bucket.account if bucket else None)
        if decision.allowed:
            return None
        return _access_denied(model, denial_message(decision))


def _named(params: dict[str, Any]) -> dict[str, str]:
    """The ARN variables a request's parameters fill."""
    names = {"BucketName": params.get("Bucket"), "ObjectName": params.get("Key"),
             "RuleName": params.get("Name") or params.get("Rule"),
             "FunctionName": str(params.get("FunctionName", "")).rsplit(":", 1)[-1] or None,
             "RoleNameWithPath": params.get("RoleName"),
             "EventDataStoreId": str(params.get("EventDataStore", "")).rsplit("/", 1)[-1] or None,
             "TableName": params.get("TableName"),
             # GetParameters names up to ten; all lie under one path in this project, so the first stands for all.
             # GetParametersByPath is authorized against its Path (Systems Manager User Guide, "How Parameter
             # Store authorizes parameter retrieval").
             "ParameterNameWithoutLeadingSlash": str(params.get("Name") or params.get("Path")
                                                     or next(iter(params.get("Names", [])), "")).lstrip("/") or None,
             "EventBusName": next((e.get("EventBusName") or "default" for e in params.get("Entries", [])), None),
             # arn:aws:states:REGION:ACCOUNT:stateMachine:NAME, and :execution:NAME:EXECUTION
             "StateMachineName": _arn_part(params.get("stateMachineArn") or params.get("executionArn"), 6),
             "ExecutionId": _arn_part(params.get("executionArn"), 7)}
    return {k: str(v) for k, v in names.items() if v}


def _arn_part(arn: object, index: int) -> str | None:
    parts = str(arn or "").split(":")
    return parts[index] if len(parts) > index else None


def _context(action: str, params: dict[str, Any]) -> dict[str, str]:
    """The service-specific condition keys a request carries (only those our policies use are modelled)."""
    if action == "s3:ListBucket" and "Prefix" in params:
        return {"s3:prefix": str(params["Prefix"])}
    return {}


def _access_denied(model: OperationModel, message: str) -> tuple[AWSResponse, dict[str, Any]]:
    protocol = model.service_model.protocol
    if protocol in ("json", "rest-json"):
        code = "AccessDeniedException"
        headers = {"x-amzn-ErrorType": code, "Content-Type": "application/x-amz-json-1.1"}
        body = json.dumps({"__type": code, "message": message}).encode()
    elif protocol == "rest-xml":
        headers = {"Content-Type": "application/xml"}
        body = f"<Error><Code>AccessDenied</Code><Message>{escape(message)}</Message></Error>".encode()
    else:
        headers = {"Content-Type": "text/xml"}
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}"
                "</Message></Error></ErrorResponse>").encode()
    parsed = parsers.create_parser(protocol).parse({"status_code": 403, "headers": headers, "body": body},
                                                   model.output_shape)  # type: ignore[arg-type]
    raw: Any = _Raw(body)
    answer_headers = HTTPHeaders()
    for name, value in headers.items():
        answer_headers[name] = value
    return AWSResponse("https://denied.invalid/", 403, answer_headers, raw), parsed
