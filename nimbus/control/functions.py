"""Functions: create, read, update, delete, tags — and the in-memory cache the invoke path
reads instead of the database."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from nimbus.clock import Clock
from nimbus.control import validation
from nimbus.errors import (
    InvalidParameterValueError,
    PreconditionFailedError,
    ResourceConflictError,
    ResourceNotFoundError,
    public_reason,
)
from nimbus.model.arn import Arns
from nimbus.model.function import LATEST, FunctionConfig, FunctionRecord, LayerRef
from nimbus.store.blobs import BlobStore
from nimbus.store.functions import FunctionRepository

if TYPE_CHECKING:
    from nimbus.control.code_signing import CodeSigningService

log = logging.getLogger(__name__)

LAYER_ARN_RE = re.compile(
    r"^arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+$"
)
MAX_LAYERS = 5

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
        self._tasks: set[asyncio.Task[None]] = set()

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
        self._check_total_size(code.unzipped_size, layers_size)
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
        self._spawn(self._activate(name, config.revision_id))
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
        self._check_revision(current, revision_id)
        self._check_total_size(code.unzipped_size, self._layers_size(current))
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
        self._check_revision(current, revision_id)
        runtime = current.runtime
        if changes.runtime is not None and changes.runtime != current.runtime:
            runtime = validation.runtime(changes.runtime, self._runnable())
        handler = current.handler
        if changes.handler_given:
            handler = validation.handler(changes.handler, runtime)
        layers = current.layers
        layers_size = self._layers_size(current)
        if changes.layers is not None:
            layers, layers_size = await self._layers(changes.layers)
            await self._check_signature(name, None, layers, None)
        self._check_total_size(current.code_size_unzipped, layers_size)
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
        for name in await self._repo.all_latest_names():
            config = await self._repo.get_version(name, LATEST)
            if config is not None and (
                config.state == "Pending" or config.last_update_status == "InProgress"
            ):
                self._spawn(self._activate(name, config.revision_id))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

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
        self._spawn(self._activate(current.name, updated.revision_id))
        return updated

    async def _activate(self, name: str, revision_id: str) -> None:
        """Prepare the code (extract it once for all environments), then mark the function
        Active / its update Successful — or Failed with the reason."""
        config = await self._repo.get_version(name, LATEST)
        if config is None or config.revision_id != revision_id:
            return
        try:
            await self._blobs.extracted(config.code_blob)
            done = config.replace(
                state="Active",
                state_reason=None,
                state_reason_code=None,
                last_update_status="Successful",
                last_update_status_reason=None,
                last_update_status_reason_code=None,
            )
        except Exception as exc:  # a broken archive must not crash the server
            log.exception("preparing code for %s failed", name)
            # The caller sees why, but not the server's paths (an OSError's text names the
            # extraction directory under the data dir); the log above has the whole error.
            why = public_reason(exc)
            done = config.replace(
                state="Failed" if config.state == "Pending" else config.state,
                state_reason=f"Could not prepare the deployment package: {why}",
                state_reason_code="InvalidZipFileException",
                last_update_status="Failed",
                last_update_status_reason=f"Could not prepare the deployment package: {why}",
                last_update_status_reason_code="InvalidZipFileException",
            )
        # The state change is not a new revision the caller can observe racing with:
        # AWS keeps RevisionId across the Pending -> Active transition too.
        if await self._repo.put_version(done, expect_revision=revision_id):
            self._cache.pop((name, LATEST), None)

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

    def _check_revision(self, current: FunctionConfig, revision_id: str | None) -> None:
        if revision_id is not None and revision_id != current.revision_id:
            raise PreconditionFailedError(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id",
            )

    async def _layers(self, arns: Sequence[str] | None) -> tuple[tuple[LayerRef, ...], int]:
        if not arns:
            return (), 0
        if len(arns) > MAX_LAYERS:
            raise InvalidParameterValueError(
                f"Cannot reference more than {MAX_LAYERS} layers; this request lists {len(arns)}."
            )
        for arn in arns:
            if not isinstance(arn, str) or not LAYER_ARN_RE.match(arn):
                raise InvalidParameterValueError(
                    f"Layer version ARN '{arn}' is not valid: expected "
                    "arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION."
                )
        layer_names = [arn.rsplit(":", 1)[0] for arn in arns]
        if len(set(layer_names)) != len(layer_names):
            raise InvalidParameterValueError(
                "Two different versions of the same layer are not allowed to be referenced "
                "in the same function."
            )
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

    def _layers_size(self, config: FunctionConfig) -> int:
        return sum(layer.unzipped_size for layer in config.layers)

    def _check_total_size(self, code_unzipped: int, layers_unzipped: int) -> None:
        if code_unzipped + layers_unzipped > validation.MAX_UNZIPPED_BYTES:
            raise InvalidParameterValueError(
                "Function code combined with layers exceeds the maximum allowed size of "
                f"{validation.MAX_UNZIPPED_BYTES} bytes. The actual size is "
                f"{code_unzipped + layers_unzipped} bytes."
            )

    def _not_found(self, name: str, version: str | None) -> ResourceNotFoundError:
        arn = self._arns.function(name, version if version and version != LATEST else None)
        return ResourceNotFoundError(f"Function not found: {arn}")

    def _forget(self, name: str) -> None:
        for key in [key for key in self._cache if key[0] == name]:
            del self._cache[key]

    async def _notify(self, name: str) -> None:
        for listener in self._listeners:
            await listener(name)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


T = TypeVar("T")


def _pick(given: T | None, current: T) -> T:
    return current if given is None else given
