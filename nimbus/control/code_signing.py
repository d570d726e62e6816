"""Code signing configurations (Create/Get/Update/Delete/ListCodeSigningConfigs,
ListFunctionsByCodeSigningConfig, Put/Get/DeleteFunctionCodeSigningConfig) and the check
every code deployment of a function with one goes through (CreateFunction,
UpdateFunctionCode)."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from nimbus.clock import Clock
from nimbus.control import code_signature, signature_rules
from nimbus.control.functions import timestamp
from nimbus.control.signature_rules import ConfigChanges
from nimbus.errors import (
    CodeSigningConfigNotFoundError,
    InvalidParameterValueError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from nimbus.model.arn import Arns
from nimbus.model.code_signing import CodeSigningConfig
from nimbus.store.blobs import BlobStore
from nimbus.store.code_signing import CodeSigningRepository

log = logging.getLogger(__name__)

_ID_RE = re.compile(r"^csc-[a-z0-9]{17}$")


class FunctionRecords(Protocol):
    """Whether a function exists (``store.functions.FunctionRepository``)."""

    async def get_record(self, name: str) -> object | None: ...


def new_config_id() -> str:
    """``csc-`` and 17 hex digits, as AWS's ids look (csc-0e4c1e9c5a0d23f71)."""
    return "csc-" + secrets.token_hex(9)[:17]


class CodeSigningService:
    def __init__(
        self,
        *,
        repo: CodeSigningRepository,
        functions: FunctionRecords,
        arns: Arns,
        clock: Clock,
        layer_blob: Callable[[str], Awaitable[str]] | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        """``layer_blob`` (``LayerService.layer_blob``: a layer version ARN -> its blob key in
        ``blobs``) lets the layers of a function with a configuration be checked too."""
        self._repo = repo
        self._layer_blob = layer_blob
        self._blobs = blobs
        self._functions = functions
        self._arns = arns
        self._clock = clock

    def arn(self, config_id: str) -> str:
        where = f"{self._arns.region}:{self._arns.account}"
        return f"arn:aws:lambda:{where}:code-signing-config:{config_id}"

    # --- configurations --------------------------------------------------------------------

    async def create(self, changes: ConfigChanges, *, tags: dict[str, str]) -> CodeSigningConfig:
        assert changes.allowed_profiles is not None  # config_changes(creating=True) checked
        config_id = new_config_id()
        config = CodeSigningConfig(
            config_id=config_id,
            arn=self.arn(config_id),
            allowed_profiles=changes.allowed_profiles,
            policy=changes.policy or "Warn",
            description=changes.description or "",
            last_modified=timestamp(self._clock.now()),
            tags=tags,
        )
        await self._repo.put(config)
        return config

    async def get(self, arn: str) -> CodeSigningConfig:
        config = await self._find(arn)
        if config is None:
            raise self._not_found(arn)
        return config

    async def update(self, arn: str, changes: ConfigChanges) -> CodeSigningConfig:
        current = await self.get(arn)
        updated = CodeSigningConfig(
            config_id=current.config_id,
            arn=current.arn,
            allowed_profiles=(
                current.allowed_profiles
                if changes.allowed_profiles is None
                else changes.allowed_profiles
            ),
            policy=current.policy if changes.policy is None else changes.policy,
            description=current.description if changes.description is None else changes.description,
            last_modified=timestamp(self._clock.now()),
            tags=current.tags,
        )
        await self._repo.put(updated)
        return updated

    async def delete(self, arn: str) -> None:
        config = await self.get(arn)
        await self._forget_deleted_functions(config.config_id)
        if not await self._repo.delete_unused(config.config_id):
            raise ResourceConflictError(
                f"The code signing configuration {arn} is used by one or more functions: "
                "remove it from them first (DeleteFunctionCodeSigningConfig; "
                "ListFunctionsByCodeSigningConfig lists them)."
            )

    async def list_configs(
        self, *, marker: str | None, max_items: int
    ) -> tuple[list[CodeSigningConfig], str | None]:
        if marker is not None and not _ID_RE.fullmatch(marker):
            raise InvalidParameterValueError(
                f"Marker '{marker}' is not valid: pass the NextMarker of a previous "
                "ListCodeSigningConfigs response."
            )
        page = await self._repo.list_configs(after=marker, limit=max_items + 1)
        if len(page) > max_items:
            return page[:max_items], page[max_items - 1].config_id
        return page, None

    async def functions_using(
        self, arn: str, *, marker: str | None, max_items: int
    ) -> tuple[list[str], str | None]:
        """ARNs of the functions that use the configuration, a page at a time."""
        config = await self.get(arn)
        await self._forget_deleted_functions(config.config_id)
        names = await self._repo.functions_using(
            config.config_id, after=marker, limit=max_items + 1
        )
        next_marker = names[max_items - 1] if len(names) > max_items else None
        return [self._arns.function(name) for name in names[:max_items]], next_marker

    # --- a function's configuration --------------------------------------------------------

    async def put_function_config(self, function: str, arn: str) -> None:
        """Make ``function`` use the configuration: the code it runs now is not checked (AWS:
        "Code signing configurations only prevent new deployments of unsigned code")."""
        config = await self._find(arn)
        if config is None:
            raise self._config_not_found(arn)
        await self._require_function(function)
        if not await self._repo.attach(function, config.config_id):
            raise self._config_not_found(arn)

    async def function_config(self, function: str) -> str | None:
        """The ARN of the configuration ``function`` uses, None if it has none."""
        await self._require_function(function)
        config_id = await self._repo.config_of(function)
        return None if config_id is None else self.arn(config_id)

    async def delete_function_config(self, function: str) -> None:
        await self._require_function(function)
        await self._repo.detach(function)

    async def on_function_change(self, function: str) -> None:
        """A deleted function stops using its configuration (subscribe to function changes)."""
        if await self._functions.get_record(function) is None:
            await self._repo.detach(function)

    # --- deployments -----------------------------------------------------------------------

    async def check_code(
        self,
        function: str,
        data: bytes | None,
        *,
        layers: Sequence[str] = (),
        config_arn: str | None = None,
    ) -> str | None:
        """Check code about to be deployed to ``function`` (``data``; None when only its
        ``layers`` change) and the layers it is deployed with against its configuration (or
        ``config_arn``, CreateFunction's CodeSigningConfigArn). Returns the allowed signing
        profile version that signed ``data`` (None without a configuration, or when Warn let
        untrusted code through, logged); raises InvalidCodeSignatureException or, under
        Enforce, CodeVerificationFailedException. AWS checks layers too: "any layers that
        you add to the function must also be signed by an allowed signing profile"."""
        if config_arn is not None:
            config = await self._find(config_arn)
            if config is None:
                raise self._config_not_found(config_arn)
        else:
            config_id = await self._repo.config_of(function)
            config = None if config_id is None else await self._repo.get(config_id)
        if config is None:
            return None
        signer = None
        if data is not None:
            signer = await self._check(function, self._arns.function(function), data, config)
        for layer in layers:
            if self._layer_blob is not None and self._blobs is not None:
                key = await self._layer_blob(layer)
                layer_data = await asyncio.to_thread(self._blobs.read, key)
                await self._check(function, layer, layer_data, config)
        return signer

    async def _check(
        self, function: str, target: str, data: bytes, config: CodeSigningConfig
    ) -> str | None:
        # Hashing up to 250 MB must not stall the event loop.
        verdict = await asyncio.to_thread(code_signature.verify, data)
        decision = signature_rules.decide(verdict, config, target=target)
        if decision.warning is not None:
            # AWS records a SignatureValidationErrors metric and a CloudTrail warning.
            log.warning(
                "code signing: deploying untrusted code to %s (Warn policy of %s): %s%s",
                function,
                config.arn,
                "" if target == self._arns.function(function) else f"layer {target}: ",
                decision.warning,
            )
        return decision.signing_profile_version_arn

    async def use_on_create(self, function: str, config_arn: str | None) -> None:
        """Record the configuration a just-created function uses (CreateFunction's
        CodeSigningConfigArn), clearing any left by a deleted function of that name."""
        if config_arn is None:
            await self._repo.detach(function)
            return
        config_id = signature_rules.config_id_of(config_arn)
        if not await self._repo.attach(function, config_id):
            # Deleted between the check and the create: the code was verified against it.
            log.warning(
                "code signing: %s was deleted while %s was being created with it",
                config_arn,
                function,
            )

    # --- internals -------------------------------------------------------------------------

    async def _find(self, arn: str) -> CodeSigningConfig | None:
        config_id = signature_rules.config_id_of(arn)
        if arn != self.arn(config_id):
            return None  # another region or account: no such configuration here
        return await self._repo.get(config_id)

    async def _require_function(self, function: str) -> None:
        if await self._functions.get_record(function) is None:
            raise ResourceNotFoundError(f"Function not found: {self._arns.function(function)}")

    async def _forget_deleted_functions(self, config_id: str) -> None:
        """Uses left behind by functions deleted before the subscription ran (a crash)."""
        after: str | None = None
        while names := await self._repo.functions_using(config_id, after=after, limit=500):
            for name in names:
                if await self._functions.get_record(name) is None:
                    await self._repo.detach(name)
            after = names[-1]

    def _not_found(self, arn: str) -> ResourceNotFoundError:
        # LocalStack's wording for Get/Update/Delete/ListFunctionsByCodeSigningConfig.
        return ResourceNotFoundError(
            f"The Lambda code signing configuration {arn} can not be found."
        )

    def _config_not_found(self, arn: str) -> CodeSigningConfigNotFoundError:
        return CodeSigningConfigNotFoundError(
            "The code signing configuration cannot be found. Check that the provided "
            f"configuration is not deleted: {arn}."
        )
