"""Who hears that IAM changed: the authorizer drops its cached policies, the credential
directory its cached keys. Called after every successful write, synchronously."""

from __future__ import annotations

from collections.abc import Callable


class Changes:
    def __init__(self) -> None:
        self._listeners: list[Callable[[], object]] = []

    def on_change(self, listener: Callable[[], object]) -> None:
        self._listeners.append(listener)

    def changed(self) -> None:
        for listener in self._listeners:
            listener()
