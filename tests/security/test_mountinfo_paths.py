"""Issue 12: a function's /proc/self/mountinfo named the host's paths: field 4 of each bind
mount is its source's path on the host filesystem, so a sandbox read where the data
directory, the server's checkout and its virtualenv live, and through the bound
site-packages could import every server dependency. Now everything bound from the host
besides the OS and the interpreter comes from the code volume, a filesystem of its own
(``sandbox.code_volume``), and only Lambda's bundled boto3 is importable."""

from __future__ import annotations

import os
import sys
from typing import Any

import pytest

from nimbus.worker.sandbox.code_volume import BOTO_PACKAGES, find_boto
from nimbus.worker.sandbox.launch import NIMBUS_ROOT
from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, make_zip

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
    reason="the code volume needs root and loop devices",
)

PROBE = """
import importlib.util, os
def handler(event, context):
    import boto3
    site = os.path.dirname(os.path.dirname(boto3.__file__))
    return {"mounts": [line.split() for line in open('/proc/self/mountinfo')],
            "site": sorted(os.listdir(site)), "site_path": site,
            "starlette": importlib.util.find_spec("starlette") is not None,
            "layer_a": open('/opt/a.txt').read(), "layer_b": open('/opt/b.txt').read()}
"""


def _layer(lam: Any, name: str, files: dict[str, str]) -> str:
    arn: str = lam.publish_layer_version(LayerName=name, Content={"ZipFile": make_zip(files)})[
        "LayerVersionArn"
    ]
    return arn


def test_mountinfo_names_no_host_path_and_only_boto3_is_bundled(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    layers = [_layer(lam, f"{fname}-a", {"a.txt": "a"}), _layer(lam, f"{fname}-b", {"b.txt": "b"})]
    deploy(lam, fname, PROBE, Layers=layers)
    response, out = call(lam, fname, {})
    assert "FunctionError" not in response, out
    assert (out["layer_a"], out["layer_b"]) == ("a", "b")  # both layers, merged on the volume

    host_paths = {str(server.data_dir.resolve()), str(NIMBUS_ROOT), sys.prefix}
    boto = find_boto()
    if boto is not None:
        host_paths.add(str(boto))
    for fields in out["mounts"]:
        root, mount_point = fields[3], fields[4]
        for path in host_paths:
            assert path not in root and path not in mount_point, fields

    by_target = {fields[4]: fields for fields in out["mounts"]}
    for target, prefix in (
        ("/var/task", "/code/"),
        ("/opt", "/layers/"),
        ("/var/runtime/nimbus", "/runtime/"),
        (out["site_path"], "/runtime/"),
    ):
        fields = by_target[target]
        assert fields[3].startswith(prefix), fields
        assert fields[fields.index("-") + 2].startswith("/dev/loop"), fields  # the volume

    # As Lambda's Python runtimes: boto3 and its dependencies, none of the server's.
    assert set(out["site"]) - {"__pycache__"} == set(BOTO_PACKAGES)
    assert out["starlette"] is False
