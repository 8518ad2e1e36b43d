"""A signer's signature over their decision on an approval form (`gongwen sign`).

The signed statement is rebuilt from what the form says when it is applied: the form (its id,
the item revision it was made for and the hash of its fixed content), the decision, the 批示, the
signer and the date. Only the key's fingerprint and the signature travel in the .docx, so a form
whose decision or 批示 changed after signing no longer verifies. Whitespace is collapsed first:
re-saving in Word, WPS or LibreOffice may re-wrap the text but not change it."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from workflow.canonical import canonical_json
from workflow.identity.keys import Registered, Signer, verify_signature

FORM_DOMAIN = b"gongwen-form-v1\n"
PROPERTY = "gongwen_signature"  # the custom document property: "v1 <fingerprint> <base64 signature>"
FIELDS = ("form", "revision", "content", "transition", "decision", "opinion", "signer", "date")


def statement(form: str, revision: int, content: str, transition: str, decision: str, opinion: str, signer: str,
              date: str) -> dict[str, Any]:
    """What a signer signs, with the free text normalised."""
    return {"form": form, "revision": revision, "content": content, "transition": transition, "decision": decision,
            "opinion": " ".join(opinion.split()), "signer": signer, "date": "".join(date.split())}


def message(signed: Mapping[str, Any]) -> bytes:
    return FORM_DOMAIN + canonical_json({k: signed[k] for k in FIELDS})


def sign(signer: Signer, signed: Mapping[str, Any]) -> str:
    """The property value that carries the signature."""
    return f"v1 {signer.fingerprint} {base64.b64encode(signer.sign(message(signed))).decode()}"


def parse(value: str) -> tuple[str, str] | None:
    """(fingerprint, base64 signature) from the property value; None when it is not one."""
    words = value.split()
    if len(words) != 3 or words[0] != "v1" or not words[1].startswith("SHA256:"):
        return None
    try:
        if len(base64.b64decode(words[2], validate=True)) != 64:
            return None
    except (binascii.Error, ValueError):
        return None
    return words[1], words[2]


def verifies(public_raw: bytes, signed: Mapping[str, Any], signature: str) -> bool:
    try:
        return verify_signature(public_raw, message(signed), signature)
    except (KeyError, TypeError, ValueError):
        return False


def status(form: Mapping[str, Any], actor: str, transition: str, comment: str, keys: Registered) -> str:
    """For the form an event recorded: valid when its signature is the actor's over this decision,
    else invalid (or unknown_key). What history, show and the report print; verify checks the key
    was valid at that moment too."""
    recorded = form.get("signature")
    if not isinstance(recorded, Mapping):
        return "invalid"
    signed = recorded.get("statement")
    found = keys.get(str(recorded.get("key")))
    if found is None:
        return "unknown_key"
    if (not isinstance(signed, Mapping) or found[0] != actor or signed.get("signer") != actor
            or signed.get("transition") != transition or signed.get("opinion") != " ".join(comment.split())):
        return "invalid"
    return "valid" if verifies(found[1], signed, str(recorded.get("sig"))) else "invalid"
