"""The search for imports of one destination, source and window, resumable across invocations.

ListImports names an import's destination and times, not its source or
window, so finding the imports a request may adopt takes one GetImport per
past import of the destination, and the import APIs allow few requests a
second. A destination with hundreds of past imports is more than one registry
handler invocation (60 seconds) can read. The search therefore stops at a
deadline and says where it stood; the next invocation goes on from there.

Imports created before a finished search began are known not to match (an
import's destination, source and window never change), so a later search,
such as the one that waits for the account to be free, reads only newer ones.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError

from . import clock, cloudtrail
from .cloudtrail import CloudTrailClient, ImportState
from .properties import ImportProperties

logger = logging.getLogger(__name__)

PAGE_SIZE = 1000  # ListImports' largest page (model: MaxResults 1..1000)
# Our clock and CloudTrail's CreatedTimestamp may disagree a little: look that much further back.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class ImportSearch:
    """Where one search stands: the page being read, how far into it, and the matches found so far."""

    began: datetime
    """When this search began: imports created earlier than this less ``CLOCK_SKEW`` are covered once it is done."""
    created_since: datetime | None = None
    """Imports created before this are known not to match and are not read."""
    token: str | None = None
    """The NextToken of the ListImports page being read; None for the first page."""
    offset: int = 0
    """Entries of that page already read."""
    matches: tuple[str, ...] = ()
    """ImportIds of the matching imports found so far."""
    done: bool = False

    @classmethod
    def fresh(cls, created_since: datetime | None = None) -> ImportSearch:
        """A search that begins now."""
        return cls(began=clock.now(), created_since=created_since)

    @property
    def covers_before(self) -> datetime:
        """Imports created before this time have all been read by this search (once it is done)."""
        return self.began - CLOCK_SKEW

    def carried(self) -> dict[str, Any]:
        """This search as JSON, for a callbackContext."""
        return {"Began": self.began.isoformat(),
                "CreatedSince": self.created_since.isoformat() if self.created_since else None,
                "Token": self.token, "Offset": self.offset, "Matches": list(self.matches), "Done": self.done}

    @classmethod
    def from_carried(cls, carried: Mapping[str, Any]) -> ImportSearch:
        """The search ``carried()`` described."""
        since = carried.get("CreatedSince")
        return cls(began=datetime.fromisoformat(str(carried["Began"])),
                   created_since=datetime.fromisoformat(since) if isinstance(since, str) and since else None,
                   token=carried.get("Token") or None, offset=int(carried.get("Offset") or 0),
                   matches=tuple(str(m) for m in carried.get("Matches") or ()), done=bool(carried.get("Done")))


def run(ct: CloudTrailClient, props: ImportProperties, search: ImportSearch,
        deadline: datetime | None = None) -> ImportSearch:
    """Go on with ``search`` until it is done or ``deadline`` has passed.

    With a deadline, CloudTrail staying throttled or unavailable pauses the search where it stood; without one
    (a caller that has all the time it needs), the error is raised.
    """
    try:
        return _run(ct, props, search, deadline)
    except _Paused as paused:
        if deadline is None:
            raise paused.error from None
        logger.warning("import search paused; going on later", extra={"error": str(paused.error),
                                                                       "offset": paused.search.offset})
        return paused.search


def found(ct: CloudTrailClient, search: ImportSearch) -> list[ImportState]:
    """The matching imports of a finished search as they are now, newest first."""
    states = [s for s in (cloudtrail.get_import(ct, i) for i in search.matches) if s is not None]
    return cloudtrail.newest_first(states)


def everything(ct: CloudTrailClient, props: ImportProperties, created_since: datetime | None = None,
               ) -> list[ImportState]:
    """Every import of ``props``' destination, source and window (created since ``created_since``), newest first."""
    return found(ct, run(ct, props, ImportSearch.fresh(created_since)))


def running(ct: CloudTrailClient, props: ImportProperties) -> list[ImportState]:
    """The running imports of ``props``' destination, source and window.

    The account runs one import at a time, so ListImports filtered by status names at most a few, however many
    ran before: this stays bounded where a search of the whole history would not.
    """
    states = []
    for status in sorted(cloudtrail.RUNNING):
        token: str | None = None
        while True:
            entries, token = cloudtrail.list_imports_page(ct, props.destination, token, PAGE_SIZE, status=status)
            states += [s for s in (cloudtrail.get_import(ct, str(e["ImportId"])) for e in entries)
                       if s is not None and s.running and s.describes(props)]
            if not token:
                break
    return cloudtrail.newest_first(states)


class _Paused(Exception):
    def __init__(self, search: ImportSearch, error: Exception) -> None:
        self.search, self.error = search, error


def _run(ct: CloudTrailClient, props: ImportProperties, search: ImportSearch,
         deadline: datetime | None) -> ImportSearch:
    while not search.done:
        try:
            entries, next_token = cloudtrail.list_imports_page(ct, props.destination, search.token, PAGE_SIZE)
        except (cloudtrail.TransientError, BotoCoreError) as error:
            raise _Paused(search, error) from error
        except cloudtrail.InvalidToken:
            # A page token kept across invocations may expire: read from the first page again, keeping matches.
            logger.warning("ListImports token no longer valid; reading from the first page again")
            search = replace(search, token=None, offset=0)
            continue
        for entry in entries[search.offset:]:
            if deadline is not None and clock.now() >= deadline:
                return search
            search = _read(ct, props, search, entry)
        search = replace(search, token=next_token, offset=0, done=not next_token)
    return search


def _read(ct: CloudTrailClient, props: ImportProperties, search: ImportSearch,
          entry: Mapping[str, Any]) -> ImportSearch:
    """``search`` after reading one ListImports entry."""
    import_id = str(entry["ImportId"])
    created = entry.get("CreatedTimestamp")
    known = search.created_since is not None and isinstance(created, datetime) and created < search.created_since
    if not known and import_id not in search.matches:
        try:
            state = cloudtrail.get_import(ct, import_id)
        except (cloudtrail.TransientError, BotoCoreError) as error:
            raise _Paused(search, error) from error
        if state is not None and state.describes(props):
            search = replace(search, matches=(*search.matches, import_id))
    return replace(search, offset=search.offset + 1)
