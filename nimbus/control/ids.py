"""Random resource ids as AWS spells them: lower-case letters and digits (a function URL's
32, an HTTP API's 10, its integrations' and routes' 7)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def random_id(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
