"""Handler strings and loading, with the exact errors AWS's Python runtime reports."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class HandlerRef:
    module: str  # dotted module name: "dir/app.handler" -> "dir.app"
    function: str


class HandlerError(Exception):
    """An Init failure, carrying AWS's errorType."""

    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack = stack or []


def parse_handler(handler: str) -> HandlerRef:
    """``path/module.function`` (path segments separated by '/'), as AWS accepts it."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as exc:
        raise HandlerError(
            "Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}"
        ) from None
    if not modname or not fname:
        raise HandlerError("Runtime.MalformedHandlerName", f"Bad handler '{handler}'")
    return HandlerRef(module=modname.replace("/", "."), function=fname)


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    ref = parse_handler(handler)
    try:
        module = importlib.import_module(ref.module)
    except ImportError as exc:
        raise HandlerError(
            "Runtime.ImportModuleError", f"Unable to import module '{ref.module}': {exc}"
        ) from None
    except SyntaxError as exc:
        raise HandlerError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{ref.module}': {exc}"
        ) from None
    try:
        function = getattr(module, ref.function)
    except AttributeError:
        raise HandlerError(
            "Runtime.HandlerNotFound", f"Handler '{ref.function}' missing on module '{ref.module}'"
        ) from None
    if not callable(function):
        raise HandlerError(
            "Runtime.HandlerNotFound", f"Handler '{ref.function}' missing on module '{ref.module}'"
        )
    return function  # type: ignore[no-any-return]
