"""What a function URL configuration may say (pure)."""

from __future__ import annotations

import pytest

from nimbus.control import function_url_rules as rules
from nimbus.errors import ValidationError


def test_a_url_is_on_the_function_or_an_alias_never_a_version() -> None:
    assert rules.qualifier(None) == ""
    assert rules.qualifier("live") == "live"
    for bad in ("$LATEST", "1", "12", "bad name", ""):
        with pytest.raises(ValidationError, match="regular expression pattern"):
            rules.qualifier(bad)


def test_auth_type_and_invoke_mode_are_enums() -> None:
    assert rules.auth_type("NONE", required=True) == "NONE"
    assert rules.auth_type(None, required=False) is None
    with pytest.raises(ValidationError, match="must not be null"):
        rules.auth_type(None, required=True)
    with pytest.raises(ValidationError, match=r"\[NONE, AWS_IAM\]"):
        rules.auth_type("IAM", required=True)
    assert rules.invoke_mode("RESPONSE_STREAM") == "RESPONSE_STREAM"
    with pytest.raises(ValidationError, match="BUFFERED"):
        rules.invoke_mode("STREAM")


def test_cors_is_checked_against_the_models_bounds() -> None:
    given = {"AllowOrigins": ["*"], "AllowMethods": ["GET"], "MaxAge": 10, "AllowCredentials": True}
    assert rules.cors(given) == given
    for bad in (
        {"AllowMethods": ["GET"] * 7},
        {"AllowMethods": ["GETTING"]},
        {"MaxAge": 86401},
        {"MaxAge": True},
        {"AllowCredentials": "yes"},
        {"AllowOrigins": "*"},
        {"Unknown": 1},
        ["not", "an", "object"],
    ):
        with pytest.raises(ValidationError):
            rules.cors(bad)


def test_url_ids_are_32_lowercase_letters_and_digits() -> None:
    ids = {rules.new_url_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) == 32 and i.isalnum() and i == i.lower() for i in ids)


def test_the_stored_cors_becomes_the_platforms_config() -> None:
    config = rules.cors_config({"AllowOrigins": ["https://a"], "AllowMethods": ["get"]})
    assert config is not None
    assert config.allow_origins == ("https://a",) and config.allow_methods == ("GET",)
    assert rules.cors_config(None) is None
