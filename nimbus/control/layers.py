"""Layers: publish, read, list, delete, permissions — and what functions and environments
need from them (resolving ARNs on create/update, the blob to mount under /opt)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from nimbus.clock import Clock
from nimbus.control import layer_rules, validation
from nimbus.control.functions import code_sha256, timestamp
from nimbus.errors import (
    InvalidParameterValueError,
    PreconditionFailedError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from nimbus.model.arn import Arns
from nimbus.model.function import LayerRef
from nimbus.model.layer import LayerPolicy, LayerStatement, LayerVersion
from nimbus.store.blobs import BlobStore
from nimbus.store.layers import LayerRepository

NOT_FOUND = "The resource you requested does not exist."


class LayerService:
    def __init__(
        self, *, repo: LayerRepository, blobs: BlobStore, arns: Arns, clock: Clock
    ) -> None:
        self._repo = repo
        self._blobs = blobs
        self._arns = arns
        self._clock = clock
        # layer version ARN -> blob key; versions are immutable, so this never goes stale.
        self._blob_keys: dict[str, str] = {}

    @property
    def arns(self) -> Arns:
        return self._arns

    # --- what functions and environments use ----------------------------------------------

    async def resolve(self, arns: Sequence[str]) -> tuple[tuple[LayerRef, ...], int]:
        """Layer version ARNs a function lists -> (refs with CodeSize, total unzipped size).
        FunctionService is given this method as its ``layers``."""
        refs: list[LayerRef] = []
        unzipped = 0
        for arn in arns:
            version = await self._live_version_of_arn(arn)
            refs.append(
                LayerRef(arn=arn, code_size=version.code_size, unzipped_size=version.unzipped_size)
            )
            unzipped += version.unzipped_size
        return tuple(refs), unzipped

    async def layer_blob(self, arn: str) -> str:
        """The blob key of a layer version's zip — also for a deleted version, which
        functions that already use it keep running (as on AWS)."""
        cached = self._blob_keys.get(arn)
        if cached is not None:
            return cached
        parsed = layer_rules.parse_arn(arn)
        version = None
        if parsed is not None and parsed.version is not None and self._is_ours(parsed):
            version = await self._repo.get(parsed.name, parsed.version, include_deleted=True)
        if version is None:
            raise ResourceNotFoundError(f"Layer version {arn} does not exist.")
        self._blob_keys[arn] = version.blob
        return version.blob

    # --- the API ---------------------------------------------------------------------------

    async def publish(
        self,
        name: str,
        *,
        code: validation.CheckedZip,
        description: str,
        runtimes: tuple[str, ...],
        architectures: tuple[str, ...],
        license_info: str | None,
    ) -> LayerVersion:
        blob = await asyncio.to_thread(self._blobs.put, code.data)
        created = timestamp(self._clock.now())

        def build(number: int) -> LayerVersion:
            return LayerVersion(
                name=name,
                version=number,
                blob=blob,
                code_sha256=code_sha256(code.data),
                code_size=len(code.data),
                unzipped_size=code.unzipped_size,
                created_date=created,
                description=description,
                compatible_runtimes=runtimes,
                compatible_architectures=architectures,
                license_info=license_info,
            )

        return await self._repo.publish(name, build)

    async def get(self, name: str, version: int) -> LayerVersion:
        found = await self._repo.get(name, version)
        if found is None:
            raise ResourceNotFoundError(NOT_FOUND)
        return found

    async def get_by_arn(self, arn: layer_rules.LayerArn) -> LayerVersion:
        if not self._is_ours(arn) or arn.version is None:
            raise ResourceNotFoundError(NOT_FOUND)
        return await self.get(arn.name, arn.version)

    async def list_layers(
        self,
        *,
        runtime: str | None,
        architecture: str | None,
        marker: str | None,
        max_items: int,
    ) -> tuple[list[LayerVersion], str | None]:
        """The newest version of each layer that matches the filters, by layer name."""
        latest: dict[str, LayerVersion] = {}
        for version in await self._repo.all_live():
            if marker is not None and version.name <= marker:
                continue
            if version.name not in latest and version.matches(
                runtime=runtime, architecture=architecture
            ):
                latest[version.name] = version
        page = list(latest.values())
        if len(page) > max_items:
            return page[:max_items], page[max_items - 1].name
        return page, None

    async def list_versions(
        self,
        name: str,
        *,
        runtime: str | None,
        architecture: str | None,
        marker: str | None,
        max_items: int,
    ) -> tuple[list[LayerVersion], str | None]:
        """A layer's live versions, newest first; the marker is the last version returned."""
        before: int | None = None
        if marker is not None:
            before = validation.int64(marker)
            if before is None or before < 1:
                raise InvalidParameterValueError(f"Marker '{marker}' is not valid.")
        page = [
            v
            for v in await self._repo.versions(name)
            if (before is None or v.version < before)
            and v.matches(runtime=runtime, architecture=architecture)
        ]
        if len(page) > max_items:
            return page[:max_items], str(page[max_items - 1].version)
        return page, None

    async def delete(self, name: str, version: int) -> None:
        # Deleting a version that does not exist (or no longer does) succeeds, as on AWS.
        await self._repo.mark_deleted(name, version)

    async def add_permission(
        self, name: str, version: int, statement: LayerStatement, *, revision_id: str | None
    ) -> tuple[LayerStatement, str]:
        """Add a statement; returns it with the policy's new revision id."""
        await self._require_version(name, version)
        current = await self._repo.get_policy(name, version)
        if any(s.sid == statement.sid for s in current.statements):
            raise ResourceConflictError(
                f"The statement id ({statement.sid}) provided already exists. Please provide a "
                "new statement id, or remove the existing statement."
            )
        self._check_revision(current, revision_id)
        updated = LayerPolicy(
            statements=(*current.statements, statement), revision_id=str(uuid.uuid4())
        )
        await self._write_policy(name, version, current, updated)
        return statement, updated.revision_id

    async def remove_permission(
        self, name: str, version: int, sid: str, *, revision_id: str | None
    ) -> None:
        await self._require_version(name, version)
        current = await self._repo.get_policy(name, version)
        self._check_revision(current, revision_id)
        if not any(s.sid == sid for s in current.statements):
            raise ResourceNotFoundError(f"Statement {sid} is not found in resource policy.")
        updated = LayerPolicy(
            statements=tuple(s for s in current.statements if s.sid != sid),
            revision_id=str(uuid.uuid4()),
        )
        await self._write_policy(name, version, current, updated)

    async def policy(self, name: str, version: int) -> LayerPolicy:
        await self._require_version(name, version)
        current = await self._repo.get_policy(name, version)
        if not current.statements:
            raise ResourceNotFoundError("No policy is associated with the given resource.")
        return current

    def check_name(self, parsed: layer_rules.LayerArn) -> str:
        """A LayerName given as an ARN must name this endpoint's region and account."""
        if parsed.account and not self._is_ours(parsed):
            raise InvalidParameterValueError(
                f"The layer ARN's region or account ({parsed.region}, {parsed.account}) does "
                f"not match this endpoint's ({self._arns.region}, {self._arns.account})."
            )
        return parsed.name

    # --- internals -------------------------------------------------------------------------

    async def _live_version_of_arn(self, arn: str) -> LayerVersion:
        parsed = layer_rules.parse_arn(arn)
        if parsed is not None and parsed.region != self._arns.region:
            raise InvalidParameterValueError(
                "Layers are not in the same region as the function. Layers are expected to be "
                f"in region {self._arns.region}."
            )
        found = None
        if parsed is not None and parsed.version is not None and self._is_ours(parsed):
            found = await self._repo.get(parsed.name, parsed.version)
        if found is None:
            raise InvalidParameterValueError(f"Layer version {arn} does not exist.")
        return found

    async def _require_version(self, name: str, version: int) -> None:
        if await self._repo.get(name, version) is None:
            raise ResourceNotFoundError(
                f"Layer version {self._arns.layer_version(name, version)} does not exist."
            )

    def _check_revision(self, current: LayerPolicy, revision_id: str | None) -> None:
        if revision_id is not None and revision_id != current.revision_id:
            raise _stale_revision()

    async def _write_policy(
        self, name: str, version: int, current: LayerPolicy, updated: LayerPolicy
    ) -> None:
        if not await self._repo.put_policy(
            name, version, updated, expect_revision=current.revision_id
        ):
            raise _stale_revision()  # changed concurrently since it was read

    def _is_ours(self, parsed: layer_rules.LayerArn) -> bool:
        return parsed.region == self._arns.region and parsed.account == self._arns.account


def _stale_revision() -> PreconditionFailedError:
    return PreconditionFailedError(
        "The Revision Id provided does not match the latest Revision Id. Call the "
        "GetLayerPolicy API to retrieve the latest Revision Id"
    )
