"""Reading the text of a .docx the way its reader sees it: paragraphs, table rows and cells,
with checkbox content controls and Wingdings symbols read as the marks they show."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
W14 = "{http://schemas.microsoft.com/office/word/2010/wordml}"
CHECKED = set("☑☒■√✓✔✅▣◼●")
UNCHECKED = set("☐□○")
_SYMBOLS = {"F0FE": "☑", "F0FC": "✓", "F0FB": "✗", "F0A8": "☐", "F06F": "☐", "F078": "☒",
            "F052": "☑", "F054": "☒", "F0A3": "☐", "F050": "✓"}  # Wingdings / Wingdings 2
_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    return _SPACE.sub("", text.replace("\u200b", ""))


def body(blob: bytes) -> etree._Element:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        document = archive.read("word/document.xml")
    return etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True,
                                                      huge_tree=True)).find(f"{W}body")


def text(element: etree._Element, decisions: bool = False) -> str:
    """Text of an element; with `decisions`, checkbox controls read as ☒/☐ and Wingdings
    symbols as the marks they show."""
    parts: list[str] = []
    skip: set[etree._Element] = set()
    for node in element.iter():
        if node in skip:
            continue
        if decisions and node.tag == f"{W}sdt":
            box = node.find(f"{W}sdtPr/{W14}checkbox")
            if box is not None:
                checked = box.find(f"{W14}checked")
                value = checked.get(f"{W14}val") if checked is not None else "0"
                parts.append("☒" if value in ("1", "true") else "☐")
                skip.update(node.iter())
                continue
        if node.tag == f"{W}t" and node.text:
            parts.append(node.text)
        elif node.tag == f"{W}sym":
            parts.append(_SYMBOLS.get((node.get(f"{W}char") or "").upper(), ""))
        elif node.tag in (f"{W}tab", f"{W}br") or node.tag == f"{W}p" and parts:
            parts.append(" ")
    return "".join(parts)


def rows(body: etree._Element) -> Iterator[list[etree._Element]]:
    """Every table row (nested tables too) as its list of distinct cells."""
    for row in body.iter(f"{W}tr"):
        yield [cell for cell in row if cell.tag == f"{W}tc"]
