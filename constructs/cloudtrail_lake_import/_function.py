"""The Lambda functions of this library, made one way: runtime, architecture, logging and log access in one place."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, aws_iam, aws_lambda, aws_logs
from constructs import Construct


def handler_function(scope: Construct, construct_id: str, *, log_group_id: str, handler: str, code: aws_lambda.Code,
                     role: aws_iam.IRole, timeout: Duration, description: str,
                     environment: dict[str, str] | None = None, function_name: str | None = None,
                     reserved_concurrent_executions: int | None = None, memory_size: int = 256) -> aws_lambda.Function:
    """A function on the newest Python (cdk-nag's L1) on arm64, logging JSON at INFO into a log group of its own,
    kept a year and retained, which its role may write to and no other (the role has no managed policy)."""
    log_group = aws_logs.LogGroup(scope, log_group_id, retention=aws_logs.RetentionDays.ONE_YEAR,
                                  removal_policy=RemovalPolicy.RETAIN)
    function = aws_lambda.Function(
        scope, construct_id,
        function_name=function_name,
        runtime=aws_lambda.Runtime.PYTHON_3_14,
        architecture=aws_lambda.Architecture.ARM_64,
        handler=handler,
        code=code,
        role=role,
        timeout=timeout,
        memory_size=memory_size,
        environment=environment,
        reserved_concurrent_executions=reserved_concurrent_executions,
        logging_format=aws_lambda.LoggingFormat.JSON,
        application_log_level_v2=aws_lambda.ApplicationLogLevel.INFO,
        log_group=log_group,
        description=description,
    )
    log_group.grant_write(role)
    return function
