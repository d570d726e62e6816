"""Entry point when the Python runtime is exec'd rather than forked from the zygote: used when
AWS_LAMBDA_EXEC_WRAPPER asks for a wrapper script around the runtime command, as on AWS
(``wrapper /var/lang/bin/python3.x -m nimbus.runtimes.python.standalone``)."""

from __future__ import annotations

import os
import sys

from nimbus.runtimes.python import bootstrap


def main() -> None:
    task = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    head = [task, "/opt/python", f"/opt/python/lib/python{version}/site-packages"]
    sys.exit(bootstrap.main(os.environ.get("_HANDLER", ""), head))


if __name__ == "__main__":
    main()
