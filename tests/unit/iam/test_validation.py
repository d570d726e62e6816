"""IAM's input constraints and identifiers (``iam.validation``), its pagination
(``iam.paging``) and how policy documents are measured and refused (``iam.documents``)."""

from __future__ import annotations

import json
import re

import pytest

from nimbus.iam import documents
from nimbus.iam.errors import (
    IamValidationError,
    InvalidInputError,
    LimitExceededError,
    MalformedPolicyDocumentError,
)
from nimbus.iam.identities import check_session_duration
from nimbus.iam.paging import page
from nimbus.iam.validation import (
    access_key_id,
    check_max_items,
    check_name,
    check_path,
    check_policy_path,
    check_tags,
    merge_tags,
    secret_access_key,
    unique_id,
)

# --- Names and paths ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["alice", "a", "A.b-c_d+e=f,g@h", "x" * 64])
def test_names_iam_accepts(name: str) -> None:
    assert check_name(name, "userName") == name


def test_a_name_with_a_forbidden_character_is_refused_in_iams_words() -> None:
    with pytest.raises(IamValidationError) as caught:
        check_name("bad/name", "userName")
    assert caught.value.message == (
        "1 validation error detected: Value 'bad/name' at 'userName' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
    )
    assert (caught.value.query_code, caught.value.status) == ("ValidationError", 400)


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("", "have length greater than or equal to 1"),
        ("x" * 65, "have length less than or equal to 64"),
        ("caf\u00e9", "satisfy regular expression pattern"),
    ],
)
def test_names_iam_refuses(name: str, constraint: str) -> None:
    with pytest.raises(IamValidationError) as caught:
        check_name(name, "roleName")
    assert f"at 'roleName' failed to satisfy constraint: Member must {constraint}" in (
        caught.value.message
    )


@pytest.mark.parametrize("path", ["/", "/team/", "/a/b/c/"])
def test_paths_must_start_and_end_with_a_slash(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize("path", ["", "team", "/team", "team/", "/sp ace/"])
def test_a_path_not_between_slashes_is_refused(path: str) -> None:
    with pytest.raises(IamValidationError):
        check_path(path)


def test_a_policy_path_allows_fewer_characters_than_a_user_path() -> None:
    assert check_path("/a!b/") == "/a!b/"
    with pytest.raises(IamValidationError):
        check_policy_path("/a!b/")
    assert check_policy_path("/ok.path/") == "/ok.path/"


# --- Quotas ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("given", "used"), [(None, 100), (1, 1), (1000, 1000)])
def test_max_items_defaults_to_100_and_is_1_to_1000(given: int | None, used: int) -> None:
    assert check_max_items(given) == used


@pytest.mark.parametrize("given", [0, 1001])
def test_max_items_outside_1_to_1000_is_refused(given: int) -> None:
    with pytest.raises(IamValidationError) as caught:
        check_max_items(given)
    assert f"Value '{given}' at 'maxItems'" in caught.value.message


@pytest.mark.parametrize("seconds", [3600, 43200])
def test_max_session_duration_is_one_to_twelve_hours(seconds: int) -> None:
    assert check_session_duration(seconds) == seconds


@pytest.mark.parametrize(
    ("seconds", "bound"),
    [(3599, "greater than or equal to 3600"), (43201, "less than or equal to 43200")],
)
def test_a_max_session_duration_outside_the_range_is_refused(seconds: int, bound: str) -> None:
    with pytest.raises(IamValidationError) as caught:
        check_session_duration(seconds)
    assert caught.value.message.endswith(f"Member must have value {bound}")
    assert f"Value '{seconds}' at 'maxSessionDuration'" in caught.value.message


# --- Tags -----------------------------------------------------------------------------------


def test_tags_within_the_rules_are_accepted() -> None:
    tags = (("team", "core"), ("cost-center", ""), ("a:b/c=d+e@f", "v"))
    assert check_tags(tags) == tags


def test_duplicate_tag_keys_are_refused_regardless_of_case() -> None:
    for tags in ((("env", "a"), ("env", "b")), (("Env", "a"), ("env", "b"))):
        with pytest.raises(InvalidInputError) as caught:
            check_tags(tags)
        assert caught.value.message.startswith("Duplicate tag keys found.")


def test_more_than_fifty_tags_are_refused() -> None:
    with pytest.raises(IamValidationError) as caught:
        check_tags(tuple((f"k{i}", "v") for i in range(51)))
    assert "have length less than or equal to 50" in caught.value.message


def test_a_tag_key_is_1_to_128_characters_and_a_value_at_most_256() -> None:
    with pytest.raises(IamValidationError) as empty:
        check_tags((("", "v"),))
    assert "at 'tags.1.member.key'" in empty.value.message
    with pytest.raises(IamValidationError) as long_value:
        check_tags((("ok", "v"), ("k", "x" * 257)))
    assert "at 'tags.2.member.value'" in long_value.value.message


def test_tagging_again_replaces_a_value_and_the_total_is_capped() -> None:
    merged = merge_tags((("a", "1"), ("b", "2")), (("b", "3"), ("c", "4")))
    assert merged == (("a", "1"), ("b", "3"), ("c", "4"))
    full = tuple((f"k{i}", "v") for i in range(50))
    assert len(merge_tags(full, (("k0", "new"),))) == 50
    with pytest.raises(LimitExceededError):
        merge_tags(full, (("one-more", "v"),))


# --- Identifiers ----------------------------------------------------------------------------


def test_ids_are_awss_form_and_unique() -> None:
    ids = {unique_id("AIDA") for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"AIDA[A-Z2-7]{17}", i) for i in ids)
    assert re.fullmatch(r"AKIA[A-Z2-7]{16}", access_key_id())
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", access_key_id("ASIA"))


def test_a_secret_is_40_characters_of_awss_alphabet() -> None:
    secrets = {secret_access_key() for _ in range(50)}
    assert len(secrets) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{40}", s) for s in secrets)


# --- Pagination -----------------------------------------------------------------------------


def test_pages_cover_every_item_once_in_order() -> None:
    items = [f"u{i:02d}" for i in range(7)]
    seen: list[str] = []
    marker: str | None = None
    pages = 0
    while True:
        got = page(list(reversed(items)), lambda s: s, marker=marker, max_items=3)
        seen += got.items
        pages += 1
        if got.marker is None:
            break
        marker = got.marker
    assert (seen, pages) == (items, 3)


def test_a_marker_stays_valid_while_items_come_and_go() -> None:
    first = page(["a", "b", "c", "d"], lambda s: s, marker=None, max_items=2)
    assert first.items == ("a", "b") and first.marker is not None
    later = page(["b", "bb", "c", "d"], lambda s: s, marker=first.marker, max_items=2)
    assert later.items == ("bb", "c")


def test_a_garbled_marker_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        page(["a"], lambda s: s, marker="%%%not-base64", max_items=1)


# --- Documents ------------------------------------------------------------------------------


def test_a_documents_size_does_not_count_white_space() -> None:
    compact = json.dumps({"Version": "2012-10-17", "Statement": []}, separators=(",", ":"))
    spaced = json.dumps({"Version": "2012-10-17", "Statement": []}, indent=4)
    assert documents.size(compact) == documents.size(spaced) == len(compact)


@pytest.mark.parametrize("text", ["{not json", "[]", '"text"'])
def test_what_is_not_a_json_object_is_invalid_json(text: str) -> None:
    with pytest.raises(MalformedPolicyDocumentError) as caught:
        documents.validate(text, "identity")
    assert caught.value.message == "This policy contains invalid Json"
    assert (caught.value.query_code, caught.value.status) == ("MalformedPolicyDocument", 400)


def test_a_managed_policy_must_use_the_2012_version() -> None:
    old = json.dumps(
        {
            "Version": "2008-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
        }
    )
    documents.validate(old, "identity")  # an inline policy may
    with pytest.raises(MalformedPolicyDocumentError):
        documents.validate(old, "identity", managed=True)


def test_an_identity_policy_may_not_name_a_principal() -> None:
    with_principal = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}],
        }
    )
    with pytest.raises(MalformedPolicyDocumentError):
        documents.validate(with_principal, "identity")
