"""AWS CDK constructs that import CloudTrail trail logs from S3 into CloudTrail Lake."""
