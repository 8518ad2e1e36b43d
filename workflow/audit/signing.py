"""Replay's check of 签发 (a definition's `signing:` block): the body hash each 签发 records is the
hash of the text as the events leave it; a change to the body afterwards is followed at once by
the reopen transition; and no number is drawn on a text that differs from the one signed."""

from __future__ import annotations

import json
from typing import Any

from workflow.canonical import canonical_hash
from workflow.definition.model import Definition


def _loads(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else text
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def step(definition: Definition, track: dict[str, Any], transition: str, to_state: str, changes: Any,
         data: Any) -> str | None:
    """Fold one event of an item into track["body"]; what it did against the signed text, or None.
    Cheap for most events: a definition without a `signing:` block returns at once, changes of
    "{}" are not parsed, and the body's hash is computed only when it is compared (at a 签发, and
    after one), once for each state of the body (kept in track["body_hash"])."""
    signing = definition.signing
    if signing is None:
        return None
    if changes not in UNCHANGED:
        body = track.get("body")
        if body is None:
            body = track["body"] = {}
        for name, pair in _loads(changes).items():
            if name in signing.body and isinstance(pair, list) and len(pair) == 2:
                body[name] = pair[1]
                track["body_hash"] = None
    signed, owed = track.get("signed"), track.pop("reopen_owed", False)
    if transition == signing.transition:
        now = track["signed"] = _body_hash(signing.body, track)
        if _recorded_body_hash(data) != now:
            return "the 签发 records a body hash that is not the hash of the text it signed"
        return None
    if transition == signing.reopen:
        track["signed"] = None
        return None if owed else "reopened 签发 though the signed text had not changed"
    if owed:
        return f"the signed text changed but {signing.reopen} did not follow at once"
    if signed is not None and _body_hash(signing.body, track) != signed:
        if _loads(data).get("numbers"):
            return "a number was drawn on a text that differs from the one signed (签发)"
        reopen = definition.transitions.get(signing.reopen or "")
        if reopen is not None and to_state in reopen.sources:
            track["reopen_owed"] = True
    return None


UNCHANGED = ("{}", b"{}")  # the stored changes of an event that changes no field
# a 签发's data as the engine writes it (canonical JSON, keys sorted): the body's hash comes first
_FIRST = ('{"body_sha256":"', b'{"body_sha256":"')
_QUOTE = ('"', b'"')


def _recorded_body_hash(data: Any) -> Any:
    """The body_sha256 a 签发's data records: read in place when it is the first key of the stored
    canonical text (its value then ends at a quote 64 characters on), else from the parsed data."""
    if data.__class__ in (str, bytes) and data[:16] in _FIRST and data[80:81] in _QUOTE:
        found = data[16:80]
        return found.decode("ascii", "replace") if found.__class__ is bytes else found
    return _loads(data).get("body_sha256")


def _body_hash(names: list[str], track: dict[str, Any]) -> str:
    """The hash of the signed text's fields as the item's events so far leave them (cached)."""
    found: str | None = track.get("body_hash")
    if found is None:
        body = track.get("body") or {}
        found = track["body_hash"] = canonical_hash({name: body.get(name) for name in names})
    return found
