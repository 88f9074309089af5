"""CloudTrail Lake ingestion prices, kept as data with the date they were read.

"You incur charges based on the amount of uncompressed data the event data
store ingests" (CloudTrail User Guide, Copying trail events to CloudTrail
Lake). Prices per GB of CloudTrail events ingested, US East (N. Virginia),
from the CloudTrail pricing page; other regions differ.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PricingOption:
    """One CloudTrail Lake pricing option of an event data store."""

    name: str
    usd_per_gb: float


PRICES_AS_OF = "2025-01"
PRICES_REGION = "us-east-1"
PRICING_OPTIONS = (
    PricingOption("one-year extendable retention", 0.75),
    PricingOption("seven-year retention", 2.50),
)
GB = 1024**3


def ingestion_cost(uncompressed_bytes: int) -> dict[str, float]:
    """Estimated ingestion charge in USD for each pricing option."""
    return {option.name: round(uncompressed_bytes / GB * option.usd_per_gb, 2) for option in PRICING_OPTIONS}
