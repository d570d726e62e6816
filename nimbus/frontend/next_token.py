"""``NextToken`` paging over sorted keys (pure): EventBridge's listings (ListRules,
ListEventBuses, ListTargetsByRule) and EventBridge Scheduler's (ListSchedules,
ListScheduleGroups).

A token is the last key of the page before it, base64url-encoded: opaque to the caller, and
stable when items are added or removed between two pages (the next page starts after that
key, wherever it now is), as AWS's tokens are. Each API words its own error for a token it
did not give (``InvalidToken`` is caught and rendered there).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence


class InvalidToken(ValueError):
    """A NextToken no listing gave."""


def page(keys: Sequence[str], token: str | None, limit: int) -> tuple[slice, str | None]:
    """The slice of ``keys`` (ascending) that is the page after ``token``, at most ``limit``
    long, and the next page's token when more follow; raises InvalidToken."""
    start = 0
    if token is not None:
        after = _untoken(token)
        start = next((i for i, key in enumerate(keys) if key > after), len(keys))
    stop = start + limit
    following = _token(keys[stop - 1]) if stop < len(keys) else None
    return slice(start, stop), following


def _token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _untoken(token: str) -> str:
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except ValueError:  # binascii.Error and Unicode{En,De}codeError are ValueErrors
        raise InvalidToken(token) from None
