"""The Runtime API as a hand-written runtime sees it: read one HTTP answer (for fake runtimes
in the worker's unit tests)."""

from __future__ import annotations

import asyncio


async def read_answer(reader: asyncio.StreamReader) -> dict[str, str]:
    """Read one answer off the Runtime API; its headers, lower-cased (the body is skipped)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    fields = [line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line]
    headers = {name.lower(): value for name, value in fields}
    await reader.readexactly(int(headers.get("content-length", "0")))
    return headers
