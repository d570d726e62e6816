"""Layers: immutable, numbered zip archives that functions mount under /opt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class LayerStatement:
    """One statement of a layer version's resource policy (who may GetLayerVersion)."""

    sid: str
    action: str
    principal: str
    organization_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class LayerPolicy:
    statements: tuple[LayerStatement, ...] = ()
    revision_id: str = ""


@dataclass(frozen=True, kw_only=True)
class LayerVersion:
    name: str
    version: int
    blob: str  # hex sha256 of the zip in the blob store
    code_sha256: str  # base64 sha256, as AWS reports CodeSha256
    code_size: int
    unzipped_size: int
    created_date: str
    description: str = ""
    compatible_runtimes: tuple[str, ...] = ()
    compatible_architectures: tuple[str, ...] = ()
    license_info: str | None = None
    # A deleted version can no longer be read or added to functions, but functions that
    # already use it keep working (as on AWS): its row and blob stay.
    deleted: bool = False

    def matches(self, *, runtime: str | None, architecture: str | None) -> bool:
        """The ListLayers/ListLayerVersions filters."""
        if runtime is not None and runtime not in self.compatible_runtimes:
            return False
        return architecture is None or architecture in self.compatible_architectures
