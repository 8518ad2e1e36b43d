"""Turning a WordprocessingML part into jinja source, structurally (lxml), in docxtpl's syntax.

1. Tags that Word split over several runs (`{{ na` `me }}`) are merged into the run holding
   their start: per paragraph, every character of a tag is given to the w:t where it starts.
2. Element tags replace their enclosing element: `{%p ...%}` the paragraph, `{%tr ...%}` the
   table row, `{%tc ...%}` the cell, `{%r ...%}` the run, and the same for `{{p x}}` etc.;
   `{#p ...#}` (and tr/tc/r) delete their element. A run tag sharing its text with other
   text is first given a run of its own (as docxtpl does).
3. Inside tags, XML entities and typographic quotes are turned back into what jinja expects.
4. docxtpl's escapes for a literal tag in the text, `{_{ x }_}` and `{_% x %_}`, print
   `{{ x }}` and `{% x %}`.

Each paragraph, row and element tag starts a new line of the jinja source, so a jinja line
number points at one paragraph (for error messages); the newlines are removed after rendering."""

from __future__ import annotations

import copy
import html
import re

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_w = lambda tag: f"{{{W}}}{tag}"

TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
ELEMENT_TAG = re.compile(r"^\s*(\{\{|\{%|\{#)(p|tr|tc|r)\s(.*?)(\}\}|%\}|#\})\s*$", re.S)
PLACEHOLDER = "gwjinja"  # element standing for a statement between elements
_PLACEHOLDER_RE = re.compile(rf"<{PLACEHOLDER}>(.*?)</{PLACEHOLDER}>", re.S)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
_NOISE = (_w("proofErr"), _w("lastRenderedPageBreak"), _w("bookmarkStart"), _w("bookmarkEnd"))
_ENCLOSING = {"p": _w("p"), "tr": _w("tr"), "tc": _w("tc"), "r": _w("r")}


def has_tags(xml: bytes) -> bool:
    return b"{{" in xml or b"{%" in xml or b"{#" in xml or b"{_{" in xml or b"{_%" in xml


def merge_split_tags(root: etree._Element) -> None:
    """Give every character of a tag to the w:t where the tag starts (paragraph by paragraph)."""
    for paragraph in root.iter(_w("p")):
        texts = [t for t in paragraph.iter(_w("t")) if _owner_paragraph(t) is paragraph]
        if len(texts) < 2:
            continue
        joined = "".join(t.text or "" for t in texts)
        if "{" not in joined:
            continue
        owners = []
        for index, t in enumerate(texts):
            owners.extend([index] * len(t.text or ""))
        moved = False
        for match in TAG.finditer(joined):
            start, end = match.span()
            first = owners[start]
            if owners[end - 1] != first:
                owners[start:end] = [first] * (end - start)
                moved = True
        if not moved:
            continue
        rebuilt: list[list[str]] = [[] for _ in texts]
        for char, owner in zip(joined, owners):
            rebuilt[owner].append(char)
        for t, chars in zip(texts, rebuilt):
            t.text = "".join(chars)
            t.set(XML_SPACE, "preserve")


def _owner_paragraph(element: etree._Element) -> etree._Element | None:
    parent = element.getparent()
    while parent is not None and parent.tag != _w("p"):
        parent = parent.getparent()
    return parent


def drop_noise(root: etree._Element) -> None:
    """Spell-check marks and bookmarks may sit between the runs of a tag: remove them where
    a paragraph holds a tag (they carry no content)."""
    for paragraph in root.iter(_w("p")):
        text = "".join(t.text or "" for t in paragraph.iter(_w("t")))
        if "{" not in text:
            continue
        for element in [e for e in paragraph.iter(*_NOISE)]:
            element.getparent().remove(element)


_RUN_TAG = re.compile(r"(\{%r\s.*?%\}|\{\{r\s.*?\}\}|\{#r\s.*?#\})", re.S)


def isolate_run_tags(root: etree._Element) -> None:
    """A run tag (`{%r if x %}`) that shares its w:t with text gets a run of its own, as in
    docxtpl, so that it replaces only itself; the pieces keep the run's properties."""
    for t in list(root.iter(_w("t"))):
        text, run = t.text or "", t.getparent()
        if run.tag != _w("r") or not _RUN_TAG.search(text) or ELEMENT_TAG.match(text):
            continue
        pieces = [piece for piece in _RUN_TAG.split(text) if piece]
        properties, following = run.find(_w("rPr")), list(t.itersiblings())
        t.text = pieces[0]
        t.set(XML_SPACE, "preserve")
        last = run
        for piece in pieces[1:]:
            new_run = etree.Element(_w("r"))
            if properties is not None:
                new_run.append(copy.deepcopy(properties))
            new_t = etree.SubElement(new_run, _w("t"))
            new_t.text = piece
            new_t.set(XML_SPACE, "preserve")
            last.addnext(new_run)
            last = new_run
        last.extend(following)


def replace_element_tags(root: etree._Element) -> None:
    """`{%p ...%}` & co. replace their enclosing element with a bare jinja statement."""
    for t in list(root.iter(_w("t"))):
        match = ELEMENT_TAG.match(t.text or "")
        if not match:
            continue
        opener, kind, body, _closer = match.groups()
        element = t
        while element is not None and element.tag != _ENCLOSING[kind]:
            element = element.getparent()
        if element is None or element.getparent() is None:
            continue
        parent = element.getparent()
        if opener == "{#":
            parent.remove(element)
            continue
        statement = "{{ " + body + " }}" if opener == "{{" else "{% " + body + " %}"
        placeholder = etree.Element(PLACEHOLDER)
        placeholder.text = statement
        placeholder.tail = element.tail
        parent.replace(element, placeholder)


def to_jinja_source(xml: bytes) -> str:
    """A WordprocessingML part as jinja source (see the module docstring)."""
    root = etree.fromstring(xml)
    drop_noise(root)
    merge_split_tags(root)
    isolate_run_tags(root)
    replace_element_tags(root)
    for t in root.iter(_w("t")):
        if "{{" in (t.text or ""):  # a value may start or end with spaces
            t.set(XML_SPACE, "preserve")
    text = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True).decode("utf-8")
    text = _PLACEHOLDER_RE.sub(lambda m: "\n" + m.group(1) + "\n", text)
    text = re.sub(r"<w:(p|tr)([ >])", r"\n<w:\1\2", text)
    return _LITERAL_BRACES.sub(lambda m: '{{ "%s" }}' % m.group(0).replace("_", ""), _clean_tags(text))


_LITERAL_BRACES = re.compile(r"\{_\{|\}_\}|\{_%|%_\}")


def _clean_tags(text: str) -> str:
    """Inside tags: XML entities back to characters, typographic quotes to straight ones."""
    return TAG.sub(lambda m: html.unescape(m.group(0)).translate(_QUOTES), text)


def plain_part_source(xml: bytes) -> str:
    """Parts that are not WordprocessingML (document properties): only the inline tags."""
    return _clean_tags(xml.decode("utf-8"))


_LINE_MARKS = re.compile(r">\n+<")


def strip_line_marks(rendered: str) -> str:
    """Remove the newlines added between elements (values never hold a raw newline: the
    renderer turns theirs into w:br, and escapes `<` and `>`)."""
    return _LINE_MARKS.sub("><", rendered)


def paragraph_text(source: str, lineno: int) -> str:
    """The readable text of the paragraph (or statement) at a line of the jinja source."""
    lines = source.split("\n")
    if not 1 <= lineno <= len(lines):
        return ""
    line = lines[lineno - 1]
    text = html.unescape(re.sub(r"<[^>]+>", "", line)).strip()
    return text[:200]
