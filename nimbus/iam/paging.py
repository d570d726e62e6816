"""IAM's pagination (Marker / MaxItems / IsTruncated), pure.

IAM lists are small (an account's users, roles and policies), so a page is cut from the whole
sorted list: the marker is the sort key of the page's last item, and the next page starts
after it — a marker stays valid while items are added or removed around it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from nimbus.iam.errors import InvalidInputError
from nimbus.iam.validation import check_max_items

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    marker: str | None  # None: the last page (IsTruncated false)


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode()


def _decode(marker: str) -> str:
    try:
        return base64.urlsafe_b64decode(marker.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidInputError("Invalid Marker.") from exc


def page(
    items: Sequence[T], key: Callable[[T], str], *, marker: str | None, max_items: int | None
) -> Page[T]:
    """The page of ``items`` (sorted by ``key``) after ``marker``, at most ``max_items``."""
    limit = check_max_items(max_items)
    ordered = sorted(items, key=key)
    if marker:
        after = _decode(marker)
        ordered = [item for item in ordered if key(item) > after]
    chosen = ordered[:limit]
    more = len(ordered) > limit
    return Page(tuple(chosen), _encode(key(chosen[-1])) if more and chosen else None)
