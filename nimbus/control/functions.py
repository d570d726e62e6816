"""Functions: create, read, update, delete, tags — and the in-memory cache the invoke path
reads instead of the database. What their input may be is ``function_rules``'s; preparing
their code after a change, ``activation``'s."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from nimbus.clock import Clock
from nimbus.control import function_rules, validation
from nimbus.control.activation import Activations
from nimbus.errors import InvalidParameterValueError, ResourceConflictError, ResourceNotFoundError
from nimbus.model.arn import Arns
from nimbus.model.function import LATEST, FunctionConfig, FunctionRecord, LayerRef
from nimbus.store.blobs import BlobStore
from nimbus.store.functions import FunctionRepository

if TYPE_CHECKING:
    from nimbus.control.code_signing import CodeSigningService

ChangeListener = Callable[[str], Awaitable[None]]
# Resolves layer version ARNs to (ref, unzipped size); the layers service provides it.
LayerResolver = Callable[[Sequence[str]], Awaitable[tuple[tuple[LayerRef, ...], int]]]


@dataclass(frozen=True, kw_only=True)
class ConfigChanges:
    """Configuration fields a request set; None means "not given" (keep the current value)."""

    runtime: str | None = None
    handler: str | None = None
    role: str | None = None
    description: str | None = None
    timeout: int | None = None
    memory_size: int | None = None
    environment: Mapping[str, str] | None = None
    kms_key_arn: str | None = None  # "" given: back to the default key
    ephemeral_storage: int | None = None
    layers: tuple[str, ...] | None = None
    dead_letter_target: str | None = None
    tracing_mode: str | None = None
    architectures: tuple[str, ...] | None = None
    handler_given: bool = False


def timestamp(epoch: float) -> str:
    """AWS's LastModified format: 2019-11-14T18:01:51.912+0000."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class FunctionService:
    def __init__(
        self,
        *,
        repo: FunctionRepository,
        blobs: BlobStore,
        arns: Arns,
        clock: Clock,
        layers: LayerResolver,
        runnable_runtimes: Callable[[], Sequence[str]],
        code_signing: CodeSigningService | None = None,
    ) -> None:
        self._repo = repo
        self._code_signing = code_signing
        self._blobs = blobs
        self._arns = arns
        self._clock = clock
        self._runnable = runnable_runtimes
        self._resolve_layers = layers
        self._cache: dict[tuple[str, str], FunctionConfig] = {}
        self._listeners: list[ChangeListener] = []
        self._activations = Activations(repo=repo, blobs=blobs, settled=self._settled)

    @property
    def arns(self) -> Arns:
        return self._arns

    def on_change(self, listener: ChangeListener) -> None:
        """Call ``listener(name)`` after any change to a function (retire environments)."""
        self._listeners.append(listener)

    # --- reads -----------------------------------------------------------------------------

    async def get_version(self, name: str, version: str = LATEST) -> FunctionConfig:
        """A version's configuration, from the cache when possible (the invoke path)."""
        cached = self._cache.get((name, version))
        if cached is not None:
            return cached
        config = await self._repo.get_version(name, version)
        if config is None:
            raise self._not_found(name, version)
        self._cache[(name, version)] = config
        return config

    async def list(
        self, *, marker: str | None, max_items: int
    ) -> tuple[list[FunctionConfig], str | None]:
        page = await self._repo.list_latest(after=marker, limit=max_items + 1)
        if len(page) > max_items:
            return page[:max_items], page[max_items - 1].name
        return page, None

    async def exists(self, name: str) -> bool:
        return await self._repo.get_record(name) is not None

    # --- writes ----------------------------------------------------------------------------

    async def create(
        self,
        *,
        name: str,
        changes: ConfigChanges,
        code: validation.CheckedZip,
        tags: Mapping[str, str],
        code_signing_config_arn: str | None = None,
    ) -> FunctionConfig:
        if changes.runtime is None:
            raise InvalidParameterValueError(
                "Runtime is required for a .zip deployment package: for example 'python3.11'."
            )
        runtime = validation.runtime(changes.runtime, self._runnable())
        handler = validation.handler(changes.handler, runtime)
        if changes.role is None:
            raise InvalidParameterValueError("Role is required: an IAM role ARN.")
        layers, layers_size = await self._layers(changes.layers)
        function_rules.check_total_size(code.unzipped_size, layers_size)
        signer = await self._check_signature(name, code, layers, code_signing_config_arn)
        blob = await asyncio.to_thread(self._blobs.put, code.data)
        now = self._clock.now()
        config = FunctionConfig(
            name=name,
            runtime=runtime,
            handler=handler,
            role=changes.role,
            code_blob=blob,
            code_sha256=code_sha256(code.data),
            code_size=len(code.data),
            code_size_unzipped=code.unzipped_size,
            signing_profile_version_arn=signer,
            description=changes.description or "",
            timeout=changes.timeout or 3,
            memory_size=changes.memory_size or 128,
            ephemeral_storage=changes.ephemeral_storage or 512,
            environment=dict(changes.environment or {}),
            kms_key_arn=changes.kms_key_arn or None,
            architectures=changes.architectures or ("x86_64",),
            layers=layers,
            dead_letter_target=changes.dead_letter_target or None,
            tracing_mode=changes.tracing_mode or "PassThrough",
            last_modified=timestamp(now),
            revision_id=str(uuid.uuid4()),
            # AWS creates functions Pending and makes them Active once their code is ready.
            state="Pending",
            state_reason="The function is being created.",
            state_reason_code="Creating",
            last_update_status="Successful",
        )
        record = FunctionRecord(name=name, tags=dict(tags), created_at=now)
        if not await self._repo.create(record, config):
            raise ResourceConflictError(f"Function already exist: {name}")
        if self._code_signing is not None:
            await self._code_signing.use_on_create(name, code_signing_config_arn)
        self._cache.pop((name, LATEST), None)
        self._activations.start(name, config.revision_id)
        return config

    async def update_code(
        self,
        name: str,
        *,
        code: validation.CheckedZip,
        revision_id: str | None,
        architectures: tuple[str, ...] | None,
    ) -> FunctionConfig:
        current = await self._fresh(name)
        function_rules.check_revision(current, revision_id)
        function_rules.check_total_size(code.unzipped_size, function_rules.layers_size(current))
        signer = await self._check_signature(name, code, current.layers, None)
        blob = await asyncio.to_thread(self._blobs.put, code.data)
        updated = current.replace(
            code_blob=blob,
            signing_profile_version_arn=signer,
            code_sha256=code_sha256(code.data),
            code_size=len(code.data),
            code_size_unzipped=code.unzipped_size,
            architectures=architectures or current.architectures,
            last_update_status="InProgress",
            last_update_status_reason="The function is being created.",
            last_update_status_reason_code="Creating",
        )
        return await self._write_update(current, updated)

    async def update_configuration(
        self, name: str, *, changes: ConfigChanges, revision_id: str | None
    ) -> FunctionConfig:
        current = await self._fresh(name)
        function_rules.check_revision(current, revision_id)
        runtime = current.runtime
        if changes.runtime is not None and changes.runtime != current.runtime:
            runtime = validation.runtime(changes.runtime, self._runnable())
        handler = current.handler
        if changes.handler_given:
            handler = validation.handler(changes.handler, runtime)
        layers = current.layers
        layers_size = function_rules.layers_size(current)
        if changes.layers is not None:
            layers, layers_size = await self._layers(changes.layers)
            await self._check_signature(name, None, layers, None)
        function_rules.check_total_size(current.code_size_unzipped, layers_size)
        updated = current.replace(
            runtime=runtime,
            handler=handler,
            role=changes.role if changes.role is not None else current.role,
            description=_pick(changes.description, current.description),
            timeout=_pick(changes.timeout, current.timeout),
            memory_size=_pick(changes.memory_size, current.memory_size),
            ephemeral_storage=_pick(changes.ephemeral_storage, current.ephemeral_storage),
            environment=dict(_pick(changes.environment, current.environment)),
            # New variables replace ones this node could not open (store/functions.py).
            environment_error=(
                None if changes.environment is not None else current.environment_error
            ),
            kms_key_arn=(
                (changes.kms_key_arn or None)
                if changes.kms_key_arn is not None
                else current.kms_key_arn
            ),
            layers=layers,
            dead_letter_target=(
                (changes.dead_letter_target or None)
                if changes.dead_letter_target is not None
                else current.dead_letter_target
            ),
            tracing_mode=_pick(changes.tracing_mode, current.tracing_mode),
            last_update_status="InProgress",
            last_update_status_reason="The function is being created.",
            last_update_status_reason_code="Creating",
        )
        return await self._write_update(current, updated)

    async def version_deleted(self, name: str, version: str) -> None:
        """A published version was removed from the store: forget it and retire its
        environments (the versions service calls this)."""
        self._cache.pop((name, version), None)
        await self._notify(name)

    async def delete(self, name: str) -> None:
        if not await self.exists(name):
            raise self._not_found(name, LATEST)
        await self._repo.delete(name)
        self._forget(name)
        await self._notify(name)

    async def tag(self, name: str, new_tags: Mapping[str, str]) -> None:
        record = await self._record(name)
        merged = {**record.tags, **new_tags}
        validation.tags(merged)
        await self._repo.set_tags(name, merged)

    async def untag(self, name: str, keys: Sequence[str]) -> None:
        record = await self._record(name)
        await self._repo.set_tags(name, {k: v for k, v in record.tags.items() if k not in keys})

    async def tags(self, name: str) -> Mapping[str, str]:
        return (await self._record(name)).tags

    async def totals(self) -> tuple[int, int]:
        return await self._repo.totals()

    async def resume_pending(self) -> None:
        """After a restart, finish activations and updates a crash interrupted."""
        await self._activations.resume_pending()

    async def close(self) -> None:
        await self._activations.close()

    # --- internals -------------------------------------------------------------------------

    async def _write_update(
        self, current: FunctionConfig, updated: FunctionConfig
    ) -> FunctionConfig:
        updated = updated.replace(
            last_modified=timestamp(self._clock.now()), revision_id=str(uuid.uuid4())
        )
        if not await self._repo.put_version(updated, expect_revision=current.revision_id):
            raise ResourceConflictError(
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {self._arns.function(current.name)}"
            )
        self._cache.pop((current.name, LATEST), None)
        await self._notify(current.name)
        self._activations.start(current.name, updated.revision_id)
        return updated

    async def _fresh(self, name: str) -> FunctionConfig:
        config = await self._repo.get_version(name, LATEST)
        if config is None:
            raise self._not_found(name, LATEST)
        return config

    async def _record(self, name: str) -> FunctionRecord:
        record = await self._repo.get_record(name)
        if record is None:
            raise self._not_found(name, None)
        return record

    async def _layers(self, arns: Sequence[str] | None) -> tuple[tuple[LayerRef, ...], int]:
        if not arns:
            return (), 0
        function_rules.check_layer_arns(arns)
        return await self._resolve_layers(arns)

    async def _check_signature(
        self,
        name: str,
        code: validation.CheckedZip | None,
        layers: Sequence[LayerRef],
        config_arn: str | None,
    ) -> str | None:
        """The signing profile that signed code (and layers) deployed to a function with a
        code signing configuration (None without one); raises when it blocks them."""
        if self._code_signing is None:
            return None
        return await self._code_signing.check_code(
            name,
            None if code is None else code.data,
            layers=[layer.arn for layer in layers],
            config_arn=config_arn,
        )

    def _not_found(self, name: str, version: str | None) -> ResourceNotFoundError:
        arn = self._arns.function(name, version if version and version != LATEST else None)
        return ResourceNotFoundError(f"Function not found: {arn}")

    def _settled(self, name: str) -> None:
        self._cache.pop((name, LATEST), None)

    def _forget(self, name: str) -> None:
        for key in [key for key in self._cache if key[0] == name]:
            del self._cache[key]

    async def _notify(self, name: str) -> None:
        for listener in self._listeners:
            await listener(name)


T = TypeVar("T")


def _pick(given: T | None, current: T) -> T:
    return current if given is None else given
