"""Route table: the Lambda control-plane API for functions, tags and account settings."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import validation
from nimbus.control.functions import FunctionService
from nimbus.control.resolver import AliasName, Latest, Version, classify
from nimbus.control.versions import VersionService
from nimbus.errors import InvalidParameterValueError, ResourceNotFoundError
from nimbus.frontend import params, wire
from nimbus.frontend.code_urls import CodeUrls, code_location
from nimbus.frontend.ports import ConcurrencyLimits, ConfigResolver
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns, merge_qualifier, parse_function_ref, parse_tagged_function
from nimbus.model.function import FunctionConfig
from nimbus.store.blobs import BlobStore

PREFIX = "/2015-03-31/functions"
TOTAL_CODE_SIZE = 80_530_636_800  # 75 GB, AWS's default account quota
BLOB_KEY = re.compile(r"[0-9a-f]{64}")


async def _checked_zip(zip_b64: Any) -> validation.CheckedZip:
    # Unzipping and hashing up to 250 MB must not stall the event loop.
    return await asyncio.to_thread(validation.zip_file, zip_b64)


def _revision(body: dict[str, Any]) -> str | None:
    revision = body.get("RevisionId")
    if revision is not None and not isinstance(revision, str):
        raise InvalidParameterValueError("RevisionId must be a string.")
    return revision


class FunctionsApi:
    def __init__(
        self,
        *,
        functions: FunctionService,
        versions: VersionService,
        resolver: ConfigResolver,
        limits: ConcurrencyLimits,
        blobs: BlobStore,
        arns: Arns,
        code_urls: CodeUrls | None = None,
    ) -> None:
        self._functions = functions
        self._versions = versions
        self._resolver = resolver
        self._limits = limits
        self._blobs = blobs
        self._arns = arns
        # Presigned code URLs (frontend/code_urls.py); None: plain ones (route-table tests).
        self._code_urls = code_urls

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, self.create_function, methods=["POST"], name="CreateFunction"),
            Route(PREFIX, self.list_functions, methods=["GET"], name="ListFunctions"),
            Route(PREFIX + "/", self.list_functions, methods=["GET"], name="ListFunctions"),
            Route(PREFIX + "/{name}", self.get_function, methods=["GET"], name="GetFunction"),
            Route(
                PREFIX + "/{name}", self.delete_function, methods=["DELETE"], name="DeleteFunction"
            ),
            Route(
                PREFIX + "/{name}/configuration",
                self.get_function_configuration,
                methods=["GET"],
                name="GetFunctionConfiguration",
            ),
            Route(
                PREFIX + "/{name}/configuration",
                self.update_function_configuration,
                methods=["PUT"],
                name="UpdateFunctionConfiguration",
            ),
            Route(
                PREFIX + "/{name}/code",
                self.update_function_code,
                methods=["PUT"],
                name="UpdateFunctionCode",
            ),
            Route(
                "/2017-03-31/tags/{arn}", self.tag_resource, methods=["POST"], name="TagResource"
            ),
            Route(
                "/2017-03-31/tags/{arn}",
                self.untag_resource,
                methods=["DELETE"],
                name="UntagResource",
            ),
            Route("/2017-03-31/tags/{arn}", self.list_tags, methods=["GET"], name="ListTags"),
            Route(
                "/2016-08-19/account-settings",
                self.get_account_settings,
                methods=["GET"],
                name="GetAccountSettings",
            ),
            Route(
                "/2016-08-19/account-settings/",
                self.get_account_settings,
                methods=["GET"],
                name="GetAccountSettings",
            ),
            Route(
                "/_nimbus/code/{key}.zip", self.download_code, methods=["GET"], name="DownloadCode"
            ),
        ]

    # --- functions -------------------------------------------------------------------------

    async def create_function(self, request: Request) -> Response:
        body = await params.json_body(request, params.MAX_CODE_REQUEST)
        name = validation.function_name(self._created_name(body.get("FunctionName")))
        code = body.get("Code")
        if not isinstance(code, dict) or "ZipFile" not in code:
            if isinstance(code, dict) and ("S3Bucket" in code or "ImageUri" in code):
                raise InvalidParameterValueError(
                    "Only Code.ZipFile is supported by Nimbus: S3 and container images are not."
                )
            raise InvalidParameterValueError("Code.ZipFile is required: a base64-encoded zip.")
        if body.get("PackageType", "Zip") != "Zip":
            raise InvalidParameterValueError("PackageType Image is not supported; use Zip.")
        checked = await _checked_zip(code["ZipFile"])
        changes = wire.config_changes(body)
        tags = validation.tags(body.get("Tags"))
        config = await self._functions.create(
            name=name,
            changes=changes,
            code=checked,
            tags=tags,
            code_signing_config_arn=params.optional_string(body, "CodeSigningConfigArn"),
        )
        if body.get("Publish") is True:
            # A published version is a snapshot of $LATEST; the version reported is the new one
            # — under the *unqualified* ARN, as AWS answers CreateFunction (LocalStack's
            # AWS-validated test_publish_version_on_create: FunctionArn without ":1",
            # Version "1"). UpdateFunctionCode with Publish reports the qualified one.
            published = await self._versions.publish(name, with_update=True)
            body = wire.function_configuration(published, self._arns)
            body["FunctionArn"] = self._arns.function(name)
            return json_response(body, 201)
        return json_response(wire.function_configuration(config, self._arns), 201)

    def _created_name(self, given: Any) -> Any:
        """The name CreateFunction creates: a name, or a (partial) ARN of this endpoint's
        account and region — another's is refused as AWS refuses it (``check_owner``)."""
        if not given or not isinstance(given, str):
            return given
        ref = parse_function_ref(given, allow_qualifier=False)
        self._arns.check_owner(ref)
        return ref.name

    async def get_function(self, request: Request) -> Response:
        ref = params.function_ref(self._arns, request)
        qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
        config = await self._resolver.config(ref.name, qualifier)
        tags = await self._functions.tags(ref.name)
        location = code_location(self._code_urls, str(request.base_url), config.code_blob)
        body: dict[str, Any] = {
            "Configuration": self._configuration(config, qualifier),
            "Code": {"RepositoryType": "S3", "Location": location},
        }
        if tags:
            body["Tags"] = dict(tags)
        concurrency = self._limits.reserved(ref.name)
        if concurrency is not None:
            body["Concurrency"] = {"ReservedConcurrentExecutions": concurrency}
        return json_response(body)

    async def get_function_configuration(self, request: Request) -> Response:
        ref = params.function_ref(self._arns, request)
        qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
        config = await self._resolver.config(ref.name, qualifier)
        return json_response(self._configuration(config, qualifier))

    def _configuration(self, config: FunctionConfig, qualifier: str | None) -> dict[str, Any]:
        body = wire.function_configuration(config, self._arns)
        if qualifier is not None:
            # Read with a qualifier, AWS reports the ARN as asked: "fn:1", "fn:alias" (with the
            # version it points to) and even "fn:$LATEST" — only the unqualified read reports
            # the unqualified ARN (LocalStack's AWS-validated test_publish_version_on_create).
            body["FunctionArn"] = self._arns.function(config.name, qualifier)
        return body

    async def list_functions(self, request: Request) -> Response:
        page, next_marker = await self._functions.list(
            marker=params.marker(request),
            max_items=params.max_items(request, default=50, high=10_000, page=50),
        )
        body: dict[str, Any] = {
            "Functions": [wire.function_configuration(c, self._arns) for c in page]
        }
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)

    async def update_function_code(self, request: Request) -> Response:
        ref = params.function_ref(self._arns, request, allow_qualifier=False)
        body = await params.json_body(request, params.MAX_CODE_REQUEST)
        if "ZipFile" not in body:
            raise InvalidParameterValueError(
                "ZipFile is required: Nimbus takes code as a base64-encoded zip (no S3, no images)."
            )
        checked = await _checked_zip(body["ZipFile"])
        if body.get("DryRun") is True:
            current = await self._functions.get_version(ref.name)
            return json_response(wire.function_configuration(current, self._arns))
        config = await self._functions.update_code(
            ref.name,
            code=checked,
            revision_id=_revision(body),
            architectures=(
                validation.architectures(body["Architectures"]) if "Architectures" in body else None
            ),
        )
        if body.get("Publish") is True:
            config = await self._versions.publish(ref.name, with_update=True)
        return json_response(wire.function_configuration(config, self._arns))

    async def update_function_configuration(self, request: Request) -> Response:
        ref = params.function_ref(self._arns, request, allow_qualifier=False)
        body = await params.json_body(request, params.MAX_CODE_REQUEST)
        config = await self._functions.update_configuration(
            ref.name, changes=wire.config_changes(body), revision_id=_revision(body)
        )
        return json_response(wire.function_configuration(config, self._arns))

    async def delete_function(self, request: Request) -> Response:
        ref = params.function_ref(self._arns, request)
        qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
        if qualifier is None:
            await self._functions.delete(ref.name)
            return Response(status_code=204)
        match classify(qualifier):
            case Version(number):
                await self._versions.delete(ref.name, number)
            case Latest():
                raise InvalidParameterValueError(
                    "$LATEST version cannot be deleted without deleting the function."
                )
            case AliasName():
                raise InvalidParameterValueError("Deletion of aliases is not currently supported.")
        return Response(status_code=204)

    # --- tags ------------------------------------------------------------------------------

    def _resource_name(self, request: Request) -> str:
        ref = parse_tagged_function(request.path_params["arn"])
        self._arns.check_owner(ref)
        return ref.name

    async def tag_resource(self, request: Request) -> Response:
        name = self._resource_name(request)
        body = await params.json_body(request)
        await self._functions.tag(name, validation.tags(body.get("Tags")))
        return Response(status_code=204)

    async def untag_resource(self, request: Request) -> Response:
        name = self._resource_name(request)
        await self._functions.untag(name, request.query_params.getlist("tagKeys"))
        return Response(status_code=204)

    async def list_tags(self, request: Request) -> Response:
        name = self._resource_name(request)
        return json_response({"Tags": dict(await self._functions.tags(name))})

    # --- account and code ------------------------------------------------------------------

    async def get_account_settings(self, request: Request) -> Response:
        count, total = await self._functions.totals()
        return json_response(
            {
                "AccountLimit": {
                    "TotalCodeSize": TOTAL_CODE_SIZE,
                    "CodeSizeUnzipped": validation.MAX_UNZIPPED_BYTES,
                    "CodeSizeZipped": validation.MAX_ZIP_BYTES,
                    "ConcurrentExecutions": self._limits.account_limit,
                    "UnreservedConcurrentExecutions": self._limits.unreserved_limit,
                },
                "AccountUsage": {"TotalCodeSize": total, "FunctionCount": count},
            }
        )

    async def download_code(self, request: Request) -> Response:
        key = request.path_params["key"]
        # Only a key GetFunction hands out (a hex sha256) reaches the disk: a longer name is an
        # OSError (ENAMETOOLONG), not a missing blob.
        if not BLOB_KEY.fullmatch(key) or not self._blobs.exists(key):
            raise ResourceNotFoundError(f"No code blob {key}.")
        return Response(
            self._blobs.read(key),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{key}.zip"'},
        )
