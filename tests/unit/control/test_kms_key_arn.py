"""KMSKeyArn is accepted in the form botocore's model allows and reported back as AWS does;
unreadable variables are reported, never a 500."""

from __future__ import annotations

import pytest

from nimbus.control import validation
from nimbus.errors import ValidationError
from nimbus.frontend.wire import config_changes, function_configuration
from nimbus.testing.catalog import ARNS, function_config

KEY = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_kms_key_arn_or_empty_is_accepted() -> None:
    assert validation.kms_key_arn(KEY) == KEY
    assert validation.kms_key_arn("") == ""  # the default key


@pytest.mark.parametrize("bad", ["alias/mine", "1234abcd", "arn:aws:KMS:x", 7])
def test_anything_else_gets_the_model_constraint_error(bad: object) -> None:
    with pytest.raises(ValidationError, match="at 'kMSKeyArn' failed to satisfy constraint"):
        validation.kms_key_arn(bad)


def test_the_key_is_reported_when_set_and_omitted_when_not() -> None:
    assert config_changes({"KMSKeyArn": KEY}).kms_key_arn == KEY
    assert config_changes({}).kms_key_arn is None
    body = function_configuration(function_config("f", kms_key_arn=KEY), ARNS)
    assert body["KMSKeyArn"] == KEY
    assert "KMSKeyArn" not in function_configuration(function_config("f"), ARNS)


def test_variables_that_do_not_open_are_reported_as_an_environment_error() -> None:
    body = function_configuration(function_config("f", environment_error="sealed elsewhere"), ARNS)
    assert body["Environment"] == {
        "Error": {"ErrorCode": "KMSAccessDeniedException", "Message": "sealed elsewhere"}
    }
