"""Verification of a trail archive before it is copied: CloudTrail's signed digest chain, and every log file.

Pure over what S3 and CloudTrail return, with no knowledge of CloudFormation:
the command line, and the deploy's verification, are entry points that call
``verify``. ``digest`` reads and checks one digest; ``chain`` one trail's chain;
``log_files`` one log file; ``layout`` finds the archive's slices and keys;
``report`` says what was found.
"""

from .digest import PublicKeys
from .report import Finding, Report
from .verify import Archive, verify

__all__ = ["Archive", "Finding", "PublicKeys", "Report", "verify"]
