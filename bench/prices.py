"""List prices the benchmarks price their counts with: data with a date, in one place.

us-east-1, read from each service's pricing page (AWS Lambda, Amazon DynamoDB, Amazon EventBridge, Amazon
CloudWatch, Amazon S3, AWS Step Functions) as of 2025-01.
"""

from __future__ import annotations

PRICES_AS_OF = "2025-01, us-east-1"
PRICE = {
    "lambda_request": 0.20 / 1e6,            # per invocation
    "lambda_gb_second_arm": 0.0000133334,    # per GB-second, arm64
    "dynamodb_read_request": 0.125 / 1e6,    # on-demand, per read request unit
    "dynamodb_write_request": 0.625 / 1e6,   # on-demand, per write request unit
    "eventbridge_custom_event": 1.00 / 1e6,  # PutEvents, per 64 KB chunk
    "cloudwatch_metric_month": 0.30,         # per custom metric (first 10,000), as EMF creates them
    "logs_ingest_gb": 0.50,                  # CloudWatch Logs ingestion
    "dashboard_month": 3.00,                 # per dashboard beyond the first three of an account
    "s3_get": 0.0004 / 1000,                 # GET and other reads, per request (S3 Standard)
    "s3_list_put": 0.005 / 1000,             # PUT, LIST and the like, per request
    "s3_gb_month": 0.023,                    # S3 Standard storage, first 50 TB
    "sfn_transition": 0.025 / 1000,          # Standard workflows, per state transition
}
