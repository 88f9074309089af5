"""ImportAccessRole: the role CloudTrail assumes to read trail logs from the source bucket."""

from __future__ import annotations

from aws_cdk import Stack, aws_iam, aws_kms, aws_s3
from constructs import Construct

from ._nag import acknowledge_wildcard


class ImportAccessRole(Construct):
    """The role CloudTrail assumes to read trail logs for an import, and nothing more.

    Only the CloudTrail service principal may assume it, and only on behalf of
    this account and the destination event data store (the confused-deputy
    conditions aws:SourceAccount and aws:SourceArn). It may list the bucket
    within the prefix, read the objects under it, and decrypt them with the
    bucket's KMS key when there is one.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_bucket: aws_s3.IBucket,
        source_prefix: str | None = None,
        event_data_store_arn: str | None = None,
        encryption_key: aws_kms.IKey | None = None,
    ) -> None:
        """
        :param source_bucket: the bucket that holds the trail logs.
        :param source_prefix: the key prefix of the logs. Default: the whole bucket.
        :param event_data_store_arn: the destination event data store. Default: any event data store
            of this account and region (``eventdatastore/*``), for a role made before its store.
        :param encryption_key: the KMS key of SSE-KMS encrypted logs. Default: the bucket's own key, if any.
        """
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        source_arn = event_data_store_arn or stack.format_arn(service="cloudtrail", resource="eventdatastore",
                                                              resource_name="*")
        self.role = aws_iam.Role(
            self,
            "Role",
            description="Assumed by CloudTrail to read trail logs for a CloudTrail Lake import",
            assumed_by=aws_iam.ServicePrincipal(
                "cloudtrail.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": source_arn},
                },
            ),
        )
        prefix = (source_prefix or "").strip("/")
        list_bucket = aws_iam.PolicyStatement(actions=["s3:ListBucket"], resources=[source_bucket.bucket_arn])
        if prefix:
            list_bucket.add_condition("StringLike", {"s3:prefix": [prefix, f"{prefix}/*"]})
        self.role.add_to_policy(list_bucket)
        objects = source_bucket.arn_for_objects(f"{prefix}/*" if prefix else "*")
        self.role.add_to_policy(aws_iam.PolicyStatement(actions=["s3:GetObject"], resources=[objects]))
        key = encryption_key or source_bucket.encryption_key
        if key is not None:
            key.grant_decrypt(self.role)
        acknowledge_wildcard(self.role, objects,
                             "s3:GetObject on the keys under the source prefix: trail log file names are not known "
                             "in advance; s3:ListBucket is limited to the prefix with s3:prefix.")

    @property
    def role_arn(self) -> str:
        """The ARN CloudTrail is given as S3BucketAccessRoleArn."""
        return self.role.role_arn
