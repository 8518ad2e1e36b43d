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

from lxml import etree
from markupsafe import escape

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


# what the form's code and token are rendered as at first: ASCII that no escaping changes and no
# template text holds; the parts are then hashed without them and given the real ones
_MARKS = {"code": b"GWFORMCODE9C1E5A7F", "token": b"GWFORMTOKEN9C1E5A7F"}


def render_form(compiled: CompiledTemplate, context: dict, secret: bytes, key: str, revision: int, seq: int,
                spec: FormSpec, party: str = "") -> tuple[bytes, dict]:
    """Render the form once, with marks where its code and token go: its fixed content is hashed
    from the parts with the marks empty (as the form reads without a token), then the marks are
    replaced by the token signed for that content, escaped as the template would have escaped it.
    Returns the bytes and the context they are the rendering of."""
    placeholder = {"id": form_id(key, seq, party), **{name: mark.decode() for name, mark in _MARKS.items()}}
    parts = compiled.render_parts({**context, "form": placeholder})
    blank = {name: _replace(data, {}) for name, data in parts.items()}
    token = sign(secret, key, revision, seq, fixed_content_hash_of(blank["word/document.xml"], spec), party)
    final_context = {**context, "form": token.as_context()}
    given = {name: str(escape(value)).encode() for name, value in final_context["form"].items() if name in _MARKS}
    return compiled.assemble({name: _replace(data, given) for name, data in parts.items()}), final_context


def _replace(data: bytes, values: dict[str, bytes]) -> bytes:
    for name, mark in _MARKS.items():
        if mark in data:
            data = data.replace(mark, values.get(name, b""))
    return data


def fixed_content_hash(blob: bytes, spec: FormSpec) -> str:
    """sha256 over the form's content a supervisor must not change (of a .docx)."""
    return _content_hash(docx_read.body(blob), spec)


def fixed_content_hash_of(document_xml: bytes, spec: FormSpec) -> str:
    """fixed_content_hash of a form's word/document.xml."""
    return _content_hash(docx_read.body_of(document_xml), spec)


def _content_hash(body: etree._Element, spec: FormSpec) -> str:
    pieces = []
    for element in body:
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
