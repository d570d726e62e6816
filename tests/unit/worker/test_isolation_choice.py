from __future__ import annotations

import pytest

from nimbus.errors import ServiceError
from nimbus.worker.host import choose_isolation


def test_auto_means_namespaces_only_as_root() -> None:
    assert choose_isolation("auto", root=True) == "namespaces"
    assert choose_isolation("auto", root=False) == "process"
    assert choose_isolation("process", root=True) == "process"
    assert choose_isolation("namespaces", root=True) == "namespaces"
    with pytest.raises(ServiceError, match="needs root"):
        choose_isolation("namespaces", root=False)
