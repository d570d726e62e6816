"""Zip archives built in memory: function code and layers for tests and benchmarks."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping


def make_zip(files: Mapping[str, str | bytes], *, modes: Mapping[str, int] | None = None) -> bytes:
    """A deflated zip of ``files`` (name -> content); ``modes`` sets Unix permissions."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = ((modes or {}).get(name, 0o644) & 0xFFFF) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()
