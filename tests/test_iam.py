"""IAM as AWS would judge it: the Service Authorization Reference (parliament) and the IAM-enforcing simulator.

Every identity policy of every template the suite synthesizes is linted by
parliament; the cross-account app is deployed into the IAM model and its
import runs through the handler; and each mutation of a documented grant
turns an import red through the simulator, not through a template assertion.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any
from unittest import mock

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from moto import mock_aws
from parliament import analyze_policy_string

import app as example
from cloudtrail_lake_import.testing import MOTO_CONFIG, CloudTrailImportSimulator, Deployment, IamWorld, default_session
from cloudtrail_lake_import.testing.iam_policy import Request
from examples import cross_account
from tests import verification_stack
from tests.driver import ROLE_ARN, Outcome, ProviderDriver, import_properties
from tests.handler_roles import HandlerRoles, admin_client
from tests.test_nag import _own_stack

Templates = dict[str, tuple[dict[str, Any], cdk.Environment]]
# What AWS would deny or not understand: an ARN on an action without that resource type, an action or a
# condition key the reference does not have.
REFUSED = {"RESOURCE_MISMATCH", "UNKNOWN_ACTION", "UNKNOWN_CONDITION_FOR_ACTION", "UNKNOWN_PREFIX"}
_ENV = cdk.Environment(account="111122223333", region="us-east-1")


def _synthesize(build: Callable[[cdk.App], object]) -> Templates:
    app = cdk.App(outdir=tempfile.mkdtemp(prefix="iam-"))
    build(app)
    stacks = [c for c in app.node.children if isinstance(c, cdk.Stack)]
    return {s.stack_name: (dict(Template.from_stack(s).to_json()),
                           cdk.Environment(account=s.account if not cdk.Token.is_unresolved(s.account)
                                           else _ENV.account, region=_ENV.region)) for s in stacks}


@pytest.fixture(scope="module")
def cross_account_templates() -> Templates:
    return _synthesize(cross_account.build)


def _identity_policies(templates: Templates) -> list[tuple[str, dict[str, Any]]]:
    found = []
    exports: dict[str, str] = {}
    for template, env in templates.values():
        exports.update(Deployment(template, account=str(env.account), region=str(env.region)).exports())
    for stack, (template, env) in templates.items():
        deployment = Deployment(template, account=str(env.account), region=str(env.region), imports=exports)
        for logical, props in deployment.of_type("AWS::IAM::Policy").items():
            found.append((f"{stack}/{logical}", props["PolicyDocument"]))
        for logical, props in deployment.of_type("AWS::IAM::Role").items():
            found += [(f"{stack}/{logical}/{p['PolicyName']}", p["PolicyDocument"]) for p in props.get("Policies", [])]
    return found


@pytest.mark.parametrize("build", [example.build, _own_stack, cross_account.build, verification_stack.build],
                         ids=["example-app", "sse-kms-stack", "cross-account-app", "archive-verification"])
def test_parliament_finds_no_action_resource_or_condition_that_aws_would_refuse(build: Any) -> None:
    policies = _identity_policies(_synthesize(build))
    assert len(policies) >= 5
    refused = [(where, f.issue, f.detail) for where, document in policies
               for f in analyze_policy_string(json.dumps(document)).findings
               if f.issue in REFUSED and f.detail != NOT_EXPRESS]
    assert refused == []


# The Service Authorization Reference gives states:DescribeExecution two resource types, execution and express,
# either of which is the execution described. CDK's DistributedMap policy names its STANDARD child executions
# (execution:MACHINE:*); parliament reports the express type it leaves out, but no EXPRESS child is ever started.
NOT_EXPRESS = [{"action": "states:DescribeExecution", "required_format": "arn:*:states:*:*:express:*:*:*"}]


# --- the cross-account app, deployed into the IAM model ------------------------------------------------------

def _cross_account_run(templates: Templates) -> tuple[Outcome, CloudTrailImportSimulator]:
    """Deploy both stacks into the IAM model, then create the import through the handler, as its role."""
    world = IamWorld(default_account="111122223333")
    management: Deployment | None = None
    for name, (template, env) in templates.items():
        deployment = world.load(template, account=str(env.account), region=str(env.region))
        if name == "TrailImportManagement":
            management = deployment
    assert management is not None
    (props,) = management.of_type("Custom::CloudTrailLakeImport").values()
    (handler,) = [management.arn(k) for k, r in management.resources.items()
                  if r["Type"] == "AWS::IAM::Role" and "HandlerRole" in k]
    sim = CloudTrailImportSimulator()
    sim.iam = world
    sim.add_event_data_store(props["EventDataStoreArn"], organization=True)
    with mock.patch.dict(os.environ, {"MOTO_ACCOUNT_ID": "111122223333"}), mock_aws(config=MOTO_CONFIG):
        admin_client("organizations").create_organization(FeatureSet="ALL")
        with default_session(sim, handler):
            outcome = ProviderDriver(sim).create({k: str(v) for k, v in props.items()})
    return outcome, sim


def test_cross_account_import_runs_with_the_grants_the_app_adds(cross_account_templates: Templates) -> None:
    outcome, sim = _cross_account_run(cross_account_templates)
    assert outcome.status == "SUCCESS", outcome.reason
    assert outcome.data["ImportStatus"] == "COMPLETED"
    checked = {d.request.action for d in sim.iam.decisions} if sim.iam else set()
    assert {"iam:PassRole", "sts:AssumeRole", "s3:ListBucket", "s3:GetBucketAcl", "s3:GetObject",
            "kms:Decrypt", "cloudtrail:StartImport"} <= checked
    # The handler's own preflight reads are denied by the other account's bucket: a warning, not a stop.
    assert any(not d.allowed and d.request.action == "s3:GetBucketLocation" for d in sim.iam.decisions)  # type: ignore[union-attr]


def _statements(templates: Templates, type_and_key: tuple[str, str]) -> list[list[dict[str, Any]]]:
    kind, key = type_and_key
    return [r["Properties"][key]["Statement"] for template, _ in templates.values()
            for r in template["Resources"].values() if r["Type"] == kind]


def _scope_start_import_to_the_destination(templates: Templates) -> None:
    for statements in _statements(templates, ("AWS::IAM::Policy", "PolicyDocument")):
        for statement in statements:
            if "cloudtrail:StartImport" in statement.get("Action", []):
                statement["Action"].remove("cloudtrail:StartImport")
                statements.append({"Effect": "Allow", "Action": "cloudtrail:StartImport",
                                   "Resource": "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/*"})
                return
    raise AssertionError("no StartImport grant")


def _drop_get_bucket_acl(templates: Templates) -> None:
    for statements in _statements(templates, ("AWS::IAM::Policy", "PolicyDocument")):
        for statement in statements:
            if "s3:GetBucketAcl" in statement.get("Action", []):
                statement["Action"].remove("s3:GetBucketAcl")
                return
    raise AssertionError("no GetBucketAcl grant")


def _leave_out_the_bucket_statement(templates: Templates) -> None:
    for statements in _statements(templates, ("AWS::S3::BucketPolicy", "PolicyDocument")):
        statements[:] = [s for s in statements if s.get("Sid") != "AWSCloudTrailImportBucketAccess"]


@pytest.mark.parametrize(("mutate", "error"), [
    (_scope_start_import_to_the_destination, "StartImport failed with AccessDeniedException"),
    (_drop_get_bucket_acl, "StartImport failed with InvalidImportSourceException"),
    (_leave_out_the_bucket_statement, "StartImport failed with InsufficientEncryptionPolicyException"),
], ids=["StartImport-scoped-to-an-ARN", "no-GetBucketAcl", "no-cross-account-bucket-statement"])
def test_each_mutation_of_a_documented_grant_stops_the_import_in_the_iam_model(
    cross_account_templates: Templates, mutate: Callable[[Templates], None], error: str
) -> None:
    mutated = copy.deepcopy(cross_account_templates)
    mutate(mutated)
    outcome, sim = _cross_account_run(mutated)
    assert outcome.status == "FAILED"
    assert error in outcome.reason
    assert sim.imports == {}


def test_bucket_statement_missing_names_the_statement_to_add_with_the_role(
    cross_account_templates: Templates,
) -> None:
    mutated = copy.deepcopy(cross_account_templates)
    _leave_out_the_bucket_statement(mutated)
    outcome, _ = _cross_account_run(mutated)
    assert "Add to the policy of bucket org-trail-logs-444455556666: " in outcome.reason
    assert '"aws:PrincipalArn":"arn:aws:iam::111122223333:role/TrailImportManagementCloudTrailLakeImportAccess' in (
        outcome.reason)


# --- the handler's PassRole ------------------------------------------------------------------------------

def _may_pass(world: IamWorld, handler: str, service: str) -> bool:
    return world.authorize(Request(handler, "iam:PassRole", ROLE_ARN, {"iam:PassedToService": service})).allowed


def _without_pass_role_condition(roles: HandlerRoles) -> IamWorld:
    template = copy.deepcopy(roles.template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                if statement.get("Action") == "iam:PassRole":
                    statement.pop("Condition", None)
    world = IamWorld()
    world.load(template, account="111122223333", region="us-east-1")
    return world


def test_handler_may_pass_the_access_role_to_cloudtrail_only(iam: IamWorld, handler_roles: HandlerRoles) -> None:
    assert _may_pass(iam, handler_roles.provider_role, "cloudtrail.amazonaws.com")
    assert not _may_pass(iam, handler_roles.provider_role, "ec2.amazonaws.com")
    assert not _may_pass(iam, handler_roles.standalone_role, "lambda.amazonaws.com")


def test_without_the_pass_role_condition_the_model_lets_the_role_go_to_any_service(
    handler_roles: HandlerRoles,
) -> None:
    # The mutation: the check above turns red.
    assert _may_pass(_without_pass_role_condition(handler_roles), handler_roles.provider_role, "ec2.amazonaws.com")


def test_start_import_is_denied_when_the_handler_may_not_pass_the_role(
    sim: CloudTrailImportSimulator, provider: ProviderDriver, destination: str
) -> None:
    outcome = provider.create(import_properties(destination,
                                                S3BucketAccessRoleArn="arn:aws:iam::111122223333:role/Unknown"))
    assert outcome.status == "FAILED"
    assert "StartImport failed with AccessDeniedException: User: arn:aws:iam::111122223333:role/" in outcome.reason
    assert "iam:PassRole on resource: arn:aws:iam::111122223333:role/Unknown" in outcome.reason
    assert sim.imports == {}
