"""Reading a rendered official document for the GB/T 9704 checker (tests/gbt9704.py).

The .docx is read with lxml (effective fonts, sizes and colours through the style chain); the PDF with
poppler: `pdftohtml -xml` gives every text run with its position, size, face and colour, `pdfinfo` the
page sizes, `pdffonts` the embedded faces and `pdftoppm` the pixels, in which the separator lines are
found (rows of ink as wide as the type area)."""

from __future__ import annotations

import io
import re
import statistics
import subprocess
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = {"w": W}
MM = 72 / 25.4           # points per millimetre
TWIP_MM = 25.4 / 1440    # millimetres per twip
DPI = 150                # pixel reading of separator lines


def q(name: str) -> str:
    return "{%s}%s" % (W, name)


def wval(el, name: str, attr: str = "val"):
    """The w:attr of the child w:name of el, or None."""
    if el is None:
        return None
    child = el.find(q(name))
    return None if child is None else child.get(q(attr))


@dataclass
class Para:
    """A paragraph of the .docx body (tables included) or of a footer."""
    el: etree._Element
    style: str
    text: str
    in_table: bool


@dataclass
class Seg:
    """A run of text in the PDF (pdftohtml -xml, zoom 1: points, origin top left)."""
    page: int
    top: float
    left: float
    width: float
    height: float
    size: float
    family: str
    color: str
    text: str

    @property
    def red(self) -> bool:
        r, g, b = (int(self.color[i:i + 2], 16) for i in (1, 3, 5))
        return r > 0xB0 and g < 0x60 and b < 0x60


@dataclass
class Line:
    """Text runs of one page sharing a line; positions in millimetres from the page's top left."""
    page: int
    segs: list[Seg] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(s.text for s in sorted(self.segs, key=lambda s: s.left))

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", "", self.text)

    @property
    def left(self) -> float:
        return min(s.left for s in self.segs) / MM

    @property
    def right(self) -> float:
        return max(s.left + s.width for s in self.segs) / MM

    @property
    def top(self) -> float:
        return min(s.top for s in self.segs) / MM

    @property
    def middle(self) -> float:
        return statistics.mean(s.top + s.height / 2 for s in self.segs) / MM

    @property
    def size(self) -> float:
        """The size (pt) of the line's widest run."""
        return max(self.segs, key=lambda s: s.width).size


@dataclass
class Rule:
    """A horizontal line found in the pixels: rows of ink at least 80% of the type area wide."""
    top: float      # mm
    left: float
    right: float
    thickness: float  # mm, from the ink (antialiasing included)
    red: bool


class Document:
    """A rendered .docx (bytes) and its PDF (a path)."""

    def __init__(self, docx: bytes, pdf: Path, name: str = ""):
        self.name = name
        self.docx = docx
        self.pdf = Path(pdf)
        with zipfile.ZipFile(io.BytesIO(docx)) as z:
            self.parts = {n: z.read(n) for n in z.namelist()}
        self.root = etree.fromstring(self.parts["word/document.xml"])
        self.styles_root = etree.fromstring(self.parts["word/styles.xml"])
        self._styles = {s.get(q("styleId")): s for s in self.styles_root.iter(q("style"))}
        self.sect = self.root.find(".//w:body/w:sectPr", NS)
        self._rules: dict[int, list[Rule]] = {}

    # --- the .docx ---------------------------------------------------------------------------------
    @cached_property
    def paras(self) -> list[Para]:
        """The paragraphs of the headers (a 信函's 标志 is in its first-page header), then the body's."""
        body = self.root.find("w:body", NS)
        headers = [p for part in self._parts("headerReference") for p in part.iter(q("p"))]
        return [self._para(p) for p in headers + list(body.iter(q("p")))]

    def _parts(self, reference: str) -> list:
        """The header or footer parts the sections refer to, each once, in document order."""
        rels = etree.fromstring(self.parts["word/_rels/document.xml.rels"])
        target = {r.get("Id"): r.get("Target") for r in rels}
        names = []
        for ref in self.root.iter(q(reference)):
            name = "word/" + target[ref.get("{%s}id" % R_NS)]
            if name not in names:
                names.append(name)
        return [etree.fromstring(self.parts[name]) for name in names]

    @cached_property
    def properties(self) -> dict[str, str]:
        """The custom document properties (docProps/custom.xml): name -> text."""
        if "docProps/custom.xml" not in self.parts:
            return {}
        root = etree.fromstring(self.parts["docProps/custom.xml"])
        return {p.get("name"): "".join(p.itertext()) for p in root}

    def _para(self, p) -> Para:
        ppr = p.find(q("pPr"))
        style = wval(ppr, "pStyle") or "Normal"
        in_table = any(a.tag == q("tbl") for a in p.iterancestors())
        return Para(p, style, para_text(p), in_table)

    def styled(self, *styles: str) -> list[Para]:
        """The paragraphs with text of these style ids, in document order."""
        return [p for p in self.paras if p.style in styles and p.text.strip()]

    def _chain(self, style: str | None):
        seen = 0
        while style and style in self._styles and seen < 10:
            yield self._styles[style]
            style = wval(self._styles[style], "basedOn")
            seen += 1

    def run_prop(self, para: Para, run, getter):
        """A run property through run rPr, the paragraph's style chain and the document defaults."""
        value = getter(run.find(q("rPr"))) if run is not None else None
        if value is not None:
            return value
        for style in self._chain(para.style):
            value = getter(style.find(q("rPr")))
            if value is not None:
                return value
        return getter(self.styles_root.find("w:docDefaults/w:rPrDefault/w:rPr", NS))

    def para_prop(self, para: Para, getter):
        value = getter(para.el.find(q("pPr")))
        if value is not None:
            return value
        for style in self._chain(para.style):
            value = getter(style.find(q("pPr")))
            if value is not None:
                return value
        return None

    def runs(self, para: Para) -> list:
        """The runs of a paragraph that carry text."""
        return [r for r in para.el.iter(q("r")) if "".join(r.itertext()).strip()]

    def fonts(self, para: Para) -> set[str]:
        """The East Asian faces of the paragraph's runs with CJK text."""
        return {self.run_prop(para, r, lambda rpr: wval(rpr, "rFonts", "eastAsia"))
                for r in self.runs(para) if re.search(r"[\u4e00-\u9fff]", "".join(r.itertext()))}

    def sizes(self, para: Para) -> set[float]:
        return {int(self.run_prop(para, r, lambda rpr: wval(rpr, "sz")) or 20) / 2 for r in self.runs(para)}

    def colors(self, para: Para) -> set[str]:
        return {(self.run_prop(para, r, lambda rpr: wval(rpr, "color")) or "auto").upper()
                for r in self.runs(para)}

    def bold(self, para: Para) -> bool:
        def b(rpr):
            val = wval(rpr, "b")
            if rpr is None or rpr.find(q("b")) is None:
                return None
            return val not in ("0", "false", "off")
        return any(self.run_prop(para, r, b) for r in self.runs(para))

    def jc(self, para: Para) -> str:
        return self.para_prop(para, lambda ppr: wval(ppr, "jc")) or "left"

    def ind(self, para: Para, attr: str) -> int:
        return int(self.para_prop(para, lambda ppr: wval(ppr, "ind", attr)) or 0)

    def footers(self) -> dict[str, list[Para]]:
        """Footer kind (default, even, first) -> its paragraphs, from every section that has its own."""
        rels = etree.fromstring(self.parts["word/_rels/document.xml.rels"])
        target = {r.get("Id"): r.get("Target") for r in rels}
        result = {}
        for ref in self.root.iter(q("footerReference")):
            part = etree.fromstring(self.parts["word/" + target[ref.get("{%s}id" % R_NS)]])
            result.setdefault(ref.get(q("type")), [Para(p, wval(p.find(q("pPr")), "pStyle") or "Normal",
                                                        para_text(p), False) for p in part.iter(q("p"))])
        return result

    # --- the PDF -------------------------------------------------------------------------------------
    @cached_property
    def segs(self) -> list[Seg]:
        xml = subprocess.run(["pdftohtml", "-xml", "-i", "-zoom", "1", "-stdout", "-q", "-fontfullname",
                              str(self.pdf)], capture_output=True, check=True).stdout
        root = etree.fromstring(xml, etree.XMLParser(recover=False, resolve_entities=False, no_network=True))
        fonts = {}
        result = []
        for page in root.iter("page"):
            for spec in page.iter("fontspec"):
                fonts[spec.get("id")] = (float(spec.get("size")), spec.get("family"), spec.get("color"))
            for t in page.iter("text"):
                text = "".join(t.itertext())
                if not text.strip():
                    continue
                size, family, color = fonts[t.get("font")]
                top, left, width, height = (float(t.get(k)) for k in ("top", "left", "width", "height"))
                result.append(Seg(int(page.get("number")), top, left, width, height, size, family, color, text))
        return result

    @cached_property
    def page_sizes(self) -> list[tuple[float, float]]:
        """(width, height) in mm of every page."""
        out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(self.pdf)], capture_output=True,
                             text=True, check=True).stdout
        return [(float(w) / MM, float(h) / MM) for w, h in
                re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", out)]

    @property
    def pages(self) -> int:
        return len(self.page_sizes)

    @cached_property
    def lines(self) -> list[Line]:
        """Text lines in reading order: runs of a page whose vertical middles are within 4 pt."""
        result: list[Line] = []
        for seg in sorted(self.segs, key=lambda s: (s.page, s.top + s.height / 2, s.left)):
            mid = seg.top + seg.height / 2
            last = result[-1] if result else None
            if last and last.page == seg.page and abs(mid - last.middle * MM) < 4:
                last.segs.append(seg)
            else:
                result.append(Line(seg.page, [seg]))
        return result

    def page_lines(self, page: int) -> list[Line]:
        return [line for line in self.lines if line.page == page]

    @cached_property
    def pdf_fonts(self) -> list[str]:
        out = subprocess.run(["pdffonts", str(self.pdf)], capture_output=True, text=True, check=True).stdout
        return [row.split()[0] for row in out.splitlines()[2:] if row.strip()]

    def rules(self, page: int) -> list[Rule]:
        """Horizontal lines of the page, top to bottom (pdftoppm at DPI)."""
        if page not in self._rules:
            self._rules[page] = self._find_rules(page)
        return self._rules[page]

    def _find_rules(self, page: int) -> list[Rule]:
        ppm = subprocess.run(["pdftoppm", "-r", str(DPI), "-f", str(page), "-l", str(page), "-singlefile",
                              str(self.pdf)], capture_output=True, check=True).stdout
        header = re.match(rb"P6\s+(\d+)\s+(\d+)\s+\d+\s", ppm)
        assert header, f"pdftoppm gave no PPM for page {page} of {self.pdf}"
        w, h = int(header[1]), int(header[2])
        data = ppm[header.end():]
        px = 25.4 / DPI
        need = 0.8 * 156 / px * 255
        rows = []
        for y in range(h):
            row = data[y * w * 3:(y + 1) * w * 3]
            green_ink = w * 255 - sum(row[1::3])
            if green_ink >= need:
                red_ink = w * 255 - sum(row[0::3])
                dark = bytes(255 - v > 128 for v in row[1::3])
                rows.append((y, green_ink / 255, red_ink < green_ink * 0.2, dark.find(1), dark.rfind(1)))
        result: list[Rule] = []
        previous = -2
        for y, ink, red, x0, x1 in rows:
            if result and y == previous + 1 and result[-1].red == red:
                result[-1].thickness += ink / (x1 - x0 + 1) * px
            else:
                result.append(Rule(y * px, x0 * px, (x1 + 1) * px, ink / (x1 - x0 + 1) * px, red))
            previous = y
        return result


def para_text(p) -> str:
    parts = []
    for el in p.iter(q("t"), q("tab"), q("br")):
        parts.append(el.text or "" if el.tag == q("t") else "\t" if el.tag == q("tab") else "\n")
    return "".join(parts)


def twips(value) -> float:
    return float(value or 0) * TWIP_MM


# --- the page and its elements (for the points of gbt9704.py and gbt9704_head.py) ------------------
LEFT, RIGHT, TOP, BOTTOM = 28.0, 184.0, 37.0, 262.0   # the type area, mm
CHAR3 = 16 / MM       # one 3号 character, mm
CHAR4 = 14 / MM       # one 4号 character, mm
PITCH = 225 / 22      # 22 lines in the type area, mm
DATE = r"[12]\d{3}年[1-9]\d?月[1-9]\d?日"
FANGSONG, XBS, HEITI, KAITI, SONG = "仿宋", "小标宋", "黑体", "楷体", "宋体"
HEADINGS = [(r"^[一二三四五六七八九十]+、", HEITI, "一、"), (r"^（[一二三四五六七八九十]+）", KAITI, "（一）"),
            (r"^\d+[.．]", FANGSONG, "1."), (r"^（\d+）", FANGSONG, "（1）")]


FORMATS = {"文件": "file", "信函": "letter", "公告": "notice"}


def layout(doc: Document) -> str:
    """"file" (文件格式), "letter" (信函格式) or "notice" (公告/公示 without 版头): the template's
    custom property gongwen_format (文件 / 信函 / 公告); without it, from the 发文机关标志: one ending in
    文件, one without 文件, none."""
    kind = FORMATS.get(doc.properties.get("gongwen_format", ""))
    if kind:
        return kind
    marks = doc.styled("GWIssuerMark")
    if not marks:
        return "notice"
    return "file" if marks[0].text.strip().endswith("文件") else "letter"


def mark(doc: Document) -> Para | None:
    """The 发文机关标志 (in the body, or in a 信函's first-page header), or None."""
    marks = doc.styled("GWIssuerMark")
    return marks[0] if marks else None


def near(value: float, want: float, tol: float) -> bool:
    return abs(value - want) <= tol


def face(fonts: set, want: str) -> bool:
    return bool(fonts) and all(f and want in f for f in fonts)


def find_line(doc: Document, text: str, page: int | None = None) -> Line | None:
    """The first PDF line whose text (spaces ignored) starts the paragraph text given."""
    plain = re.sub(r"\s+", "", text)
    lines = [line for line in doc.lines if (page is None or line.page == page) and line.plain]
    exact = [line for line in lines if line.plain == plain]
    starts = [line for line in lines if plain.startswith(line.plain) and len(line.plain) * 2 >= len(plain)]
    return exact[0] if exact else starts[0] if starts else None


def para_lines(doc: Document, text: str, page: int | None = None) -> list[Line]:
    """The consecutive PDF lines that make up a paragraph's text (page numbers skipped, so that a
    paragraph may run on to the next page); [] when it is not in the PDF."""
    plain = re.sub(r"\s+", "", text)
    lines = [line for line in doc.lines if line.top < BOTTOM or plain.startswith(line.plain)]
    for i, line in enumerate(lines):
        if (page is not None and line.page != page) or not line.plain or not plain.startswith(line.plain):
            continue
        got, j = line.plain, i
        while got != plain and j + 1 < len(lines) and plain.startswith(got + lines[j + 1].plain):
            j += 1
            got += lines[j].plain
        if got == plain:
            return lines[i:j + 1]
    return []


def title(doc: Document) -> Para | None:
    titles = doc.styled("GWTitle")
    return titles[0] if titles else None


def signature(doc: Document) -> list[Para]:
    """[署名, 成文日期] of the body's signature block (the first two GW Signature paragraphs)."""
    return doc.styled("GWSignature")[:2]


def record_lines(doc: Document) -> list[Line]:
    """The PDF lines of the 版记 (抄送, 印发), on whichever page they fell."""
    texts = [p.text for p in doc.styled("GWRecord")]
    return [line for t in texts for line in para_lines(doc, t)]


def page_number_lines(doc: Document) -> dict[int, Line]:
    found = {}
    for line in doc.lines:
        if re.fullmatch(r"—\s*\d+\s*—", line.text.strip()) and line.top > BOTTOM:
            found[line.page] = line
    return found
