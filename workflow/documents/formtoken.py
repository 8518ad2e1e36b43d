"""Approval forms: the HMAC token that makes a form unforgeable, rendered into the form.

The token covers the item key, the item's revision, the form id (the item key and the event
number) and the sha256 of the form's fixed content: every table cell and paragraph except the
rows the supervisor fills in and the 校验码 line. It is kept twice: in the custom document
property `gongwen_token` (full, with the content hash) and as the printed 校验码 line
(`JH-2024-0007/r5/f3/<first 20 hex of the MAC>`), which survives suites that drop properties."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workflow.definition.model import FormSpec
    from workflow.documents.renderer import CompiledTemplate

import hashlib
import hmac
import json
from dataclasses import dataclass

from workflow.documents import docx_read
from workflow.documents.docx_read import W


@dataclass(frozen=True)
class Token:
    key: str
    revision: int
    seq: int
    content: str  # sha256 of the fixed content
    mac: str
    party: str = ""  # a 会签单: the countersigner (role or login) it is for; one form per party

    @property
    def form_id(self) -> str:
        return form_id(self.key, self.seq, self.party)

    @property
    def code(self) -> str:
        return f"{self.key}/r{self.revision}/f{self.seq}{'-' + self.party if self.party else ''}/{self.mac[:20]}"

    def as_property(self) -> str:
        party = {"party": self.party} if self.party else {}
        return json.dumps({"v": 1, "key": self.key, "rev": self.revision, "seq": self.seq,
                           "content": self.content, "mac": self.mac, **party}, separators=(",", ":"))

    def as_context(self) -> dict:
        return {"id": self.form_id, "code": self.code, "token": self.as_property()}


def form_id(key: str, seq: int, party: str = "") -> str:
    """JH-2024-0007#3, or JH-2024-0007#3-finance for one countersigner's 会签单."""
    return f"{key}#{seq}" + (f"-{party}" if party else "")


def mac_for(secret: bytes, key: str, revision: int, seq: int, content: str, party: str = "") -> str:
    message = f"gongwen-form-v1|{key}|{revision}|{seq}|{content}" + (f"|{party}" if party else "")
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def sign(secret: bytes, key: str, revision: int, seq: int, content: str, party: str = "") -> Token:
    return Token(key, revision, seq, content, mac_for(secret, key, revision, seq, content, party), party)


def render_form(compiled: CompiledTemplate, context: dict, secret: bytes, key: str, revision: int, seq: int,
                spec: FormSpec, party: str = "") -> tuple[bytes, dict]:
    """Render the form twice: once to learn its fixed content, once with the token in it.
    Returns the bytes and the context they were rendered from."""
    placeholder = {"id": form_id(key, seq, party), "code": "", "token": ""}
    first = compiled.render({**context, "form": placeholder})
    token = sign(secret, key, revision, seq, fixed_content_hash(first, spec), party)
    final_context = {**context, "form": token.as_context()}
    return compiled.render(final_context), final_context


def fixed_content_hash(blob: bytes, spec: FormSpec) -> str:
    """sha256 over the form's content a supervisor must not change."""
    pieces = []
    for element in docx_read.body(blob):
        if element.tag == f"{W}p":
            text = docx_read.norm(docx_read.text(element))
            if text and not text.startswith("校验码"):
                pieces.append(text)
        elif element.tag == f"{W}tbl":
            for cells in docx_read.rows(element):
                texts = [docx_read.norm(docx_read.text(c)) for c in cells]
                if not set(texts) & spec.fill_labels:
                    pieces.extend(t for t in texts if t)
    return hashlib.sha256("\x1f".join(pieces).encode()).hexdigest()
