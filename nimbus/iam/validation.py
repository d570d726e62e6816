"""IAM's input constraints (botocore's ``iam`` model: ``userNameType``, ``pathType``,
``tagListType``...) and the identifiers IAM mints, as pure functions.

A broken constraint is reported as IAM reports it: ``ValidationError``, "1 validation error
detected: Value 'x' at 'userName' failed to satisfy constraint: Member must ...". IDs are
AWS's form: a four-letter prefix naming the kind (AIDA user, AROA role, ANPA managed policy)
and 17 characters of [A-Z2-7], 21 in all; access key ids are AKIA (long-term) or ASIA
(temporary) and 16 more, 20 in all."""

from __future__ import annotations

import re
import secrets
import string

from nimbus.iam.errors import IamValidationError, InvalidInputError, LimitExceededError
from nimbus.model.iam import Tags

NAME = re.compile(r"[\w+=,.@-]+", re.ASCII)
PATH = re.compile(r"(/)|(/[\u0021-\u007e]+/)")
POLICY_PATH = re.compile(r"((/[A-Za-z0-9.,+@=_-]+)*)/")
PATH_PREFIX = re.compile(r"/[\u0021-\u007f]*")
DOCUMENT = re.compile(r"[\u0009\u000a\u000d\u0020-\u00ff]+")
DESCRIPTION = re.compile(r"[\u0009\u000a\u000d\u0020-\u007e\u00a1-\u00ff]*")
TAG_KEY = re.compile(r"[\w\s.:/=+\-@]+")
TAG_VALUE = re.compile(r"[\w\s.:/=+\-@]*")
SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]*", re.ASCII)
VERSION_ID = re.compile(r"v[1-9][0-9]*(\.[A-Za-z0-9-]*)?")

_ID_ALPHABET = string.ascii_uppercase + "234567"
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
MAX_TAGS = 50


def _invalid(value: object, member: str, constraint: str) -> IamValidationError:
    return IamValidationError(
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
        f"constraint: Member must {constraint}"
    )


def check_string(
    value: str,
    member: str,
    *,
    min_len: int = 0,
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
) -> str:
    if len(value) < min_len:
        raise _invalid(value, member, f"have length greater than or equal to {min_len}")
    if max_len is not None and len(value) > max_len:
        raise _invalid(value, member, f"have length less than or equal to {max_len}")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise _invalid(
            value, member, f"satisfy regular expression pattern: {_shown(pattern.pattern)}"
        )
    return value


def _shown(pattern: str) -> str:
    # The model's spelling of the pattern, as AWS quotes it.
    return {
        NAME.pattern: r"[\w+=,.@-]+",
        PATH.pattern: r"(\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        PATH_PREFIX.pattern: r"\u002F[\u0021-\u007F]*",
        DOCUMENT.pattern: r"[\u0009\u000A\u000D\u0020-\u00FF]+",
        SESSION_NAME.pattern: r"[\w+=,.@-]*",
    }.get(pattern, pattern)


def check_name(value: str, member: str, *, max_len: int = 64) -> str:
    return check_string(value, member, min_len=1, max_len=max_len, pattern=NAME)


def check_path(value: str, member: str = "path") -> str:
    return check_string(value, member, min_len=1, max_len=512, pattern=PATH)


def check_policy_path(value: str, member: str = "path") -> str:
    return check_string(value, member, min_len=1, max_len=512, pattern=POLICY_PATH)


def check_path_prefix(value: str, member: str = "pathPrefix") -> str:
    return check_string(value, member, min_len=1, max_len=512, pattern=PATH_PREFIX)


def check_document(value: str, member: str = "policyDocument", max_len: int = 131072) -> str:
    return check_string(value, member, min_len=1, max_len=max_len, pattern=DOCUMENT)


def check_description(value: str, member: str = "description") -> str:
    return check_string(value, member, max_len=1000, pattern=DESCRIPTION)


def check_max_items(value: int | None) -> int:
    """IAM's MaxItems: 1..1000, 100 when not given."""
    if value is None:
        return 100
    if not 1 <= value <= 1000:
        bound = "greater than or equal to 1" if value < 1 else "less than or equal to 1000"
        raise _invalid(value, "maxItems", f"have value {bound}")
    return value


def check_tags(tags: Tags) -> Tags:
    if len(tags) > MAX_TAGS:
        raise _invalid(
            "[" + ", ".join(k for k, _ in tags) + "]",
            "tags",
            f"have length less than or equal to {MAX_TAGS}",
        )
    for index, (key, value) in enumerate(tags, start=1):
        check_string(key, f"tags.{index}.member.key", min_len=1, max_len=128, pattern=TAG_KEY)
        check_string(value, f"tags.{index}.member.value", max_len=256, pattern=TAG_VALUE)
    keys = [key.lower() for key, _ in tags]  # IAM's tag keys are case-insensitive
    if len(set(keys)) != len(keys):
        raise InvalidInputError(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive."
        )
    return tags


def merge_tags(current: Tags, added: Tags) -> Tags:
    """TagUser/TagRole: a key already there gets the new value, others are appended."""
    merged = dict(current)
    merged.update(added)
    if len(merged) > MAX_TAGS:
        raise LimitExceededError(f"Cannot exceed quota for TagsPerResource: {MAX_TAGS}")
    return tuple(merged.items())


def unique_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def access_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))


def secret_access_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
