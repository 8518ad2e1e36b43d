"""Canonical JSON: the one byte form of a value that gongwen hashes (events, definitions,
render contexts) and stores in JSON columns: sorted keys, no spaces, UTF-8 text unescaped."""

from __future__ import annotations

import hashlib
import json
from typing import Any

# json.dumps with these arguments builds this encoder on every call; one made once gives the same text
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def canonical_text(value: Any) -> str:
    return _ENCODER.encode(value)


def canonical_json(value: Any) -> bytes:
    return canonical_text(value).encode()


def canonical_hash(value: Any) -> str:
    """sha256 (hex) of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
