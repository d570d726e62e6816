"""End to end: invoking versions and aliases (weighted routing), and layers under /opt."""

from __future__ import annotations

import shutil
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import call, deploy
from tests.support import make_zip


def test_qualified_invokes_run_exactly_that_version(lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    return 'one'\n")
    v1 = lam.publish_version(FunctionName=fname)["Version"]
    lam.update_function_code(
        FunctionName=fname, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'two'\n"})
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    v2 = lam.publish_version(FunctionName=fname)["Version"]
    response, out = call(lam, fname, {}, Qualifier=v1)
    assert (out, response["ExecutedVersion"]) == ("one", v1)
    response, out = call(lam, f"{fname}:{v2}", {})
    assert (out, response["ExecutedVersion"]) == ("two", v2)
    response, out = call(lam, fname, {})
    assert (out, response["ExecutedVersion"]) == ("two", "$LATEST")
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=fname, Qualifier="99", Payload=b"{}")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_alias_weighted_routing_split(lam: Any, fname: str) -> None:
    source = "import os\ndef handler(e, c):\n    return os.environ['AWS_LAMBDA_FUNCTION_VERSION']\n"
    deploy(lam, fname, source)
    v1 = lam.publish_version(FunctionName=fname)["Version"]
    lam.update_function_configuration(
        FunctionName=fname, Environment={"Variables": {"RELEASE": "second"}}
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    v2 = lam.publish_version(FunctionName=fname)["Version"]
    lam.create_alias(
        FunctionName=fname,
        Name="live",
        FunctionVersion=v1,
        RoutingConfig={"AdditionalVersionWeights": {v2: 0.3}},
    )
    counts: Counter[str] = Counter()
    for _ in range(400):
        response, out = call(lam, fname, {}, Qualifier="live")
        assert out == response["ExecutedVersion"]
        counts[out] += 1
    assert set(counts) == {v1, v2}
    share = counts[v2] / 400
    # Binomial(400, 0.3): sd = 0.023; 4 sd either side fails a correct router ~1 in 15,000.
    assert 0.21 <= share <= 0.39, counts
    lam.update_alias(FunctionName=fname, Name="live", FunctionVersion=v2, RoutingConfig={})
    assert {call(lam, f"{fname}:live", {})[1] for _ in range(20)} == {v2}


def test_layers_are_merged_under_opt_in_order(lam: Any, fname: str) -> None:
    base = lam.publish_layer_version(
        LayerName=f"{fname}-base",
        Content={
            "ZipFile": make_zip(
                {
                    "python/layer_mod.py": "WHO = 'base'\n",
                    "python/shared.py": "WHO = 'base'\n",
                    "bin/hello-tool": "#!/bin/sh\necho tool\n",
                },
                modes={"bin/hello-tool": 0o755},
            )
        },
        CompatibleRuntimes=["python3.11"],
    )["LayerVersionArn"]
    override = lam.publish_layer_version(
        LayerName=f"{fname}-override",
        Content={"ZipFile": make_zip({"python/shared.py": "WHO = 'override'\n"})},
    )["LayerVersionArn"]
    source = """
import os, subprocess, layer_mod, shared
def handler(event, context):
    return {"layer_mod": layer_mod.WHO, "shared": shared.WHO,
            "tool": subprocess.run(["hello-tool"], capture_output=True, text=True).stdout.strip(),
            "ld": os.environ.get("LD_LIBRARY_PATH", ""), "opt": sorted(os.listdir("/opt"))}
"""
    deploy(lam, fname, source, Layers=[base, override])
    config = lam.get_function_configuration(FunctionName=fname)
    assert [layer["Arn"] for layer in config["Layers"]] == [base, override]
    response, out = call(lam, fname, {})
    assert "FunctionError" not in response, out
    assert out["layer_mod"] == "base"
    assert out["shared"] == "override"  # later layers override earlier ones
    assert out["tool"] == "tool"  # /opt/bin is on PATH
    assert "/opt/lib" in out["ld"].split(":")
    assert {"bin", "python"} <= set(out["opt"])
    # A deleted layer version keeps working for functions that already use it.
    lam.delete_layer_version(LayerName=f"{fname}-base", VersionNumber=1)
    lam.update_function_configuration(FunctionName=fname, Description="force a cold start")
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    assert call(lam, fname, {})[1]["layer_mod"] == "base"


def test_more_than_five_layers_rejected(lam: Any, fname: str) -> None:
    arns = [
        lam.publish_layer_version(
            LayerName=f"{fname}-l{i}", Content={"ZipFile": make_zip({f"f{i}.txt": "x"})}
        )["LayerVersionArn"]
        for i in range(6)
    ]
    with pytest.raises(ClientError) as exc:
        deploy(lam, fname, "def handler(e, c):\n    return 1\n", Layers=arns)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterValueException"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_node_layer_modules_resolve(lam: Any, fname: str) -> None:
    layer = lam.publish_layer_version(
        LayerName=f"{fname}-node",
        Content={
            "ZipFile": make_zip(
                {
                    "nodejs/node_modules/greeter/index.js": (
                        "module.exports = () => 'hi from layer';\n"
                    ),
                }
            )
        },
    )["LayerVersionArn"]
    source = "const greet = require('greeter');\nexports.handler = async () => greet();\n"
    deploy(lam, fname, source, runtime="nodejs20.x", handler="index.handler", Layers=[layer])
    assert call(lam, fname, {})[1] == "hi from layer"
