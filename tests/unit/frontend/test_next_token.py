"""NextToken paging (pure), as EventBridge's and Scheduler's listings share it: a page after
the key a token names, stable when items come and go between pages."""

from __future__ import annotations

import pytest

from nimbus.frontend.next_token import InvalidToken, page


def test_pages_follow_their_tokens_to_the_end() -> None:
    keys = ["a", "b", "c", "d", "e"]
    seen, token = [], None
    while True:
        chosen, token = page(keys, token, 2)
        seen += keys[chosen]
        if token is None:
            break
    assert seen == keys
    assert page(keys, None, 5) == (slice(0, 5), None)  # exactly one page: no token
    assert page([], None, 3) == (slice(0, 3), None)


def test_a_token_names_a_key_not_a_position() -> None:
    keys = ["a", "b", "c", "d"]
    first, token = page(keys, None, 2)
    assert keys[first] == ["a", "b"]
    # "a" deleted and "bb" created before the next page: it starts after "b" all the same.
    changed = ["b", "bb", "c", "d"]
    second, _ = page(changed, token, 2)
    assert changed[second] == ["bb", "c"]


@pytest.mark.parametrize("token", ["%%%", "not base64!", "\udcff", "/w=="])
def test_a_token_no_listing_gave_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken):
        page(["a"], token, 1)
