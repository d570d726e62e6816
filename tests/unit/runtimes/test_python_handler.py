from __future__ import annotations

import pytest

from nimbus.runtimes.python.handler import HandlerError, HandlerRef, parse_handler


def test_parse_handler() -> None:
    assert parse_handler("app.handler") == HandlerRef(module="app", function="handler")
    assert parse_handler("src/pkg/app.main") == HandlerRef(module="src.pkg.app", function="main")
    assert parse_handler("a.b.c") == HandlerRef(module="a.b", function="c")


@pytest.mark.parametrize("bad", ["nodot", ".handler", "app."])
def test_malformed(bad: str) -> None:
    with pytest.raises(HandlerError) as info:
        parse_handler(bad)
    assert info.value.error_type == "Runtime.MalformedHandlerName"
