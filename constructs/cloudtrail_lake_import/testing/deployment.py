"""A synthesized template as CloudFormation would deploy it: intrinsic functions resolved to concrete values.

Enough of CloudFormation for the policies this project writes: Ref and
Fn::GetAtt of the resource types they name, pseudo parameters, Fn::Join,
Fn::Select, Fn::Split and Fn::Sub. Physical names come from the resource's
own name property, else from ``names``, else from its logical id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME_PROPERTY = {"AWS::IAM::Role": "RoleName", "AWS::Lambda::Function": "FunctionName",
                  "AWS::S3::Bucket": "BucketName", "AWS::Logs::LogGroup": "LogGroupName",
                  "AWS::StepFunctions::StateMachine": "StateMachineName", "AWS::CloudTrail::EventDataStore": "Name",
                  "AWS::DynamoDB::Table": "TableName", "AWS::DynamoDB::GlobalTable": "TableName",
                  "AWS::SNS::Topic": "TopicName"}
_SUB = re.compile(r"\$\{([^}]+)\}")


class Deployment:
    """One stack's template in one account and region."""

    def __init__(self, template: Mapping[str, Any], *, account: str, region: str,
                 names: Mapping[str, str] | None = None, imports: Mapping[str, str] | None = None) -> None:
        self.template = template
        """The synthesized template, as Template.to_json() gives it."""
        self.account = account
        """The account the stack is deployed in (AWS::AccountId)."""
        self.region = region
        """The region the stack is deployed in (AWS::Region)."""
        self.names = dict(names or {})
        """Physical names by logical id, for resources CloudFormation would name itself; default: the logical id."""
        self.imports = dict(imports or {})
        """What ``Fn::ImportValue`` reads: the exports of stacks deployed before, by name."""
        self.resources: Mapping[str, Any] = template.get("Resources", {})
        """The template's resources by logical id."""

    def of_type(self, resource_type: str) -> dict[str, Mapping[str, Any]]:
        """The resources of one type, by logical id, with their properties resolved."""
        return {logical: self.resolve(r.get("Properties", {})) for logical, r in self.resources.items()
                if r["Type"] == resource_type}

    def physical_name(self, logical_id: str) -> str:
        """The name CloudFormation gives the resource: its name property if set, else the one in names, else the
        logical id (lower case for a bucket)."""
        resource = self.resources[logical_id]
        prop = _NAME_PROPERTY.get(resource["Type"])
        explicit = resource.get("Properties", {}).get(prop) if prop else None
        if explicit is not None:
            return str(self.resolve(explicit))
        name = self.names.get(logical_id, logical_id)
        return name.lower() if resource["Type"] == "AWS::S3::Bucket" and logical_id not in self.names else name

    def arn(self, logical_id: str) -> str:
        """The ARN CloudFormation reports for the resource."""
        kind, name = self.resources[logical_id]["Type"], self.physical_name(logical_id)
        where = f"{self.region}:{self.account}"
        arns = {
            "AWS::IAM::Role": f"arn:aws:iam::{self.account}:role/{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{where}:function:{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{where}:log-group:{name}:*",
            "AWS::KMS::Key": f"arn:aws:kms:{where}:key/{name.lower()}",
            "AWS::StepFunctions::StateMachine": f"arn:aws:states:{where}:stateMachine:{name}",
            "AWS::CloudTrail::EventDataStore": f"arn:aws:cloudtrail:{where}:eventdatastore/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{where}:table/{name}",
            "AWS::DynamoDB::GlobalTable": f"arn:aws:dynamodb:{where}:table/{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{where}:{name}",
        }
        if kind not in arns:
            raise NotImplementedError(f"the ARN of {kind} ({logical_id}) is not modelled")
        return arns[kind]

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by what CloudFormation would give."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) != 1:
            return {k: self.resolve(v) for k, v in value.items()}
        (function, argument), = value.items()
        if function == "Ref":
            return self._ref(argument)
        if function == "Fn::GetAtt":
            logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.arn(logical) if attribute in ("Arn", "EventDataStoreArn") else self.physical_name(logical)
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(self.resolve(p)) for p in self.resolve(parts))
        if function == "Fn::Select":
            index, items = argument
            return self.resolve(items)[int(self.resolve(index))]
        if function == "Fn::Split":
            separator, text = argument
            return str(self.resolve(text)).split(separator)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return _SUB.sub(lambda m: str(self.resolve(variables[m.group(1)]) if m.group(1) in variables
                                          else self._ref_or_att(m.group(1))), text)
        if function == "Fn::ImportValue" and self.resolve(argument) in self.imports:
            return self.imports[self.resolve(argument)]
        if function.startswith("Fn::"):
            raise NotImplementedError(f"{function} is not modelled")
        return {k: self.resolve(v) for k, v in value.items()}

    def exports(self) -> dict[str, str]:
        """The template's exports, resolved: for the ``imports`` of the stacks that read them."""
        return {str(self.resolve(o["Export"]["Name"])): str(self.resolve(o["Value"]))
                for o in self.template.get("Outputs", {}).values() if "Export" in o}

    def _ref_or_att(self, name: str) -> str:
        if "." in name:
            return str(self.resolve({"Fn::GetAtt": name}))
        return self._ref(name)

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Partition": "aws", "AWS::AccountId": self.account, "AWS::Region": self.region,
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": "stack"}
        if name in pseudo:
            return pseudo[name]
        if name in self.template.get("Parameters", {}):
            return str(self.template["Parameters"][name].get("Default", name))
        kind = self.resources[name]["Type"]
        if kind in ("AWS::StepFunctions::StateMachine", "AWS::IAM::ManagedPolicy", "AWS::SNS::Topic"):
            return self.arn(name)
        if kind == "AWS::KMS::Key":
            return name.lower()
        return self.physical_name(name)
