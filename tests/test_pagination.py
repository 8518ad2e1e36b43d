"""Pagination of the rendered documents (issue 15): the 22 × 28 document grid, the 版记 of a 文件 on an
even last page at the foot of the type area, table rows never split across pages, page 1 never ends
more than 2 lines short, a 信函 numbered from page 2, 序号 and date cells on one line with numbers
centred, and the approval forms (稿纸, 审批表) one page with the 办理记录 on a continuation sheet by
design.

The .docx checks run on the shipped templates. The PDF checks run `gongwen demo` once, and convert
every document it produced, a 信函 rendered from tools/sample_context.py, and a long table built with
the template helpers (with and without w:cantSplit, the second proving the split-row check can
fail), in ONE soffice call, then read the pages with `pdftotext -bbox-layout` (poppler)."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from helpers import NOW, require_soffice
from lxml import etree

REPO = Path(__file__).resolve().parents[1]
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
XHTML = "{http://www.w3.org/1999/xhtml}"

# the GB/T 9704 page in points: type area from 104.9 to 742.7 pt down the A4 page
TOP, BOTTOM, LEFT, RIGHT = 2098 / 20, (16838 - 1984) / 20, 1588 / 20, (11906 - 1474) / 20
LINE = 578 / 20          # the body's exact line pitch, 28.9 pt
# the official templates, and those in 文件格式 (the others, 信函 and 公告, have no 版记 of their own)
FILES = {"印发通知", "督导结果通报", "推荐文件", "命名决定", "撤销通报"}
OFFICIAL = FILES | {"督导通知书", "督导意见书", "整改通知书", "整改复查报告", "不予认定通知", "限期整改通知",
                    "公示公告", "公示结果"}
LETTER = "督导意见书"   # the 信函 rendered from tools/sample_context.py (whatever the demo does)
APPROVAL_FORMS = {"发文稿纸", "审批表"}
DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")


def template_of(path: Path) -> str:
    """KEY_NN_transition_模板.docx -> 模板."""
    return path.stem.rsplit("_", 1)[-1]


# --- the .docx: grid, rows -------------------------------------------------------------------------
def official_templates() -> list[Path]:
    return sorted(p for p in (REPO / "templates_docx").glob("*/*.docx") if p.stem in OFFICIAL)


def document_xml(path: Path) -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(path).read("word/document.xml"))


def test_the_official_templates_are_the_ones_listed():
    assert {p.stem for p in official_templates()} == OFFICIAL


@pytest.mark.parametrize("path", official_templates(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_section_of_an_official_document_has_the_22_by_28_grid(path):
    """w:docGrid linesAndChars: 22 lines of 579 twips in the 12756-twip type area, 28 characters
    of 16 pt + charSpace/4096 pt in its 8844 twips (what Word and WPS give text typed later)."""
    sections = document_xml(path).iter(f"{W}sectPr")
    grids = [s.find(f"{W}docGrid") for s in sections]
    assert grids and all(g is not None for g in grids)
    for grid in grids:
        assert grid.get(f"{W}type") == "linesAndChars"
        pitch, space = int(grid.get(f"{W}linePitch")), int(grid.get(f"{W}charSpace"))
        assert (pitch, space) == (579, -849)
        assert int(12756 / pitch) == 22
        assert int(8844 / 20 / (16 + space / 4096)) == 28


@pytest.mark.parametrize("path", [p for p in official_templates() if p.stem in FILES],
                         ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_record_block_has_an_even_page_section_of_its_own(path):
    """The 版记 table sits in the last section, which starts on an even page; the text's section
    ends before it; the 版记 page is numbered like the others (footers linked)."""
    root = document_xml(path)
    body = root.find(f"{W}body")
    last = body.find(f"{W}sectPr")
    assert last.find(f"{W}type").get(f"{W}val") == "evenPage"
    assert last.find(f"{W}footerReference") is None
    breaks = [p for p in body.iter(f"{W}p") if p.find(f"{W}pPr/{W}sectPr") is not None]
    assert len(breaks) == 1
    after = list(breaks[0].itersiblings())
    tables = [el for el in after if el.tag == f"{W}tbl"]
    assert len(tables) == 1 and "印发" in "".join(tables[0].itertext())


def test_every_table_row_of_every_template_never_splits_and_headers_repeat():
    templates = sorted((REPO / "templates_docx").glob("*/*.docx"))
    assert len(templates) >= 40
    for path in templates:
        for tbl in document_xml(path).iter(f"{W}tbl"):
            rows = tbl.findall(f"{W}tr")
            assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows), path.name
            first = "".join(rows[0].itertext()) if rows else ""
            if first.startswith("序号"):
                assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None, path.name


# --- the PDFs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


@dataclass
class Pdf:
    pages: int
    lines: list[Line]

    def on(self, page: int) -> list[Line]:
        return [line for line in self.lines if line.page == page]


GAP = 6.0   # points: words further apart than this on a line belong to different table cells


def plain(text: str) -> str:
    """Text without spaces and checkbox marks (python-docx does not read content controls)."""
    return re.sub(r"[\s\u3000☐☑☒]+", "", text)


def read_pdf(path: Path) -> Pdf:
    """The PDF's lines, each cut where its words are more than GAP apart (pdftotext may join
    the text of neighbouring table cells into one line)."""
    out = subprocess.run(["pdftotext", "-bbox-layout", str(path), "-"], capture_output=True,
                         check=True, timeout=120).stdout
    root = etree.fromstring(out, etree.XMLParser(resolve_entities=False, no_network=True))
    lines = []
    pages = root.findall(f".//{XHTML}page")
    for number, page in enumerate(pages, start=1):
        for line in page.iter(f"{XHTML}line"):
            words = [(float(w.get("xMin")), float(w.get("yMin")), float(w.get("xMax")),
                      float(w.get("yMax")), w.text or "") for w in line.iter(f"{XHTML}word")]
            words.sort()
            run: list = []
            for word in words + [None]:
                if run and (word is None or word[0] - run[-1][2] > GAP):
                    lines.append(Line(number, run[0][0], min(w[1] for w in run), run[-1][2],
                                      max(w[3] for w in run), plain("".join(w[4] for w in run))))
                    run = []
                if word is not None:
                    run.append(word)
    return Pdf(len(pages), lines)


def long_table(path: Path, keep_rows: bool) -> None:
    """A 整改 table of 14 rows of 6 lines each, which cannot fit one page, built with the
    template helpers; without ``keep_rows`` its rows lose w:cantSplit."""
    sys.path.insert(0, str(REPO / "tools"))
    import _gbt9704 as gw
    import _save as sv

    doc = gw.new_document("长表", "测试")
    gw.para(doc, "长表", style="GW Body")
    t = gw.table(doc, [760, 900, 1992, 1992, 2300, 900], small=True, centered=(0, 4))
    gw.row(t, "序号", "类别", "问题描述", "整改要求", "整改期限", "责任人", header=True)
    for i in range(1, 15):
        gw.row(t, str(i), "校舍", f"第{i}项问题" + "教学楼消防通道堆放杂物，疏散指示标志损坏。" * 4,
               "立即清理" + "并建立日常巡查制度。" * 3, f"2026年12月{i}日", "张三")
    if not keep_rows:
        for tr_pr in t._tbl.iter(f"{W}trPr"):
            for cant in tr_pr.findall(f"{W}cantSplit"):
                tr_pr.remove(cant)
    sv.save(doc, str(path))


CC = "某某县教育局，某某县人民政府教育督导委员会办公室"


def letter_with_cc(path: Path) -> None:
    """A two-page 信函 with a 抄送 (its 版记), built with the template helpers and rendered."""
    sys.path.insert(0, str(REPO / "tools"))
    import _letter as lt
    import _save as sv

    from workflow.documents.renderer import render

    doc = lt.official("信函", "测试", "关于对某某县第一实验小学开展综合督导的通知", "某某县第一实验小学：",
                      "{{ numbers.n }}", lt.LETTER)
    for _ in range(14):
        lt.body(doc, "根据年度教育督导工作安排，我室决定对你校开展综合督导，督导事项为办学行为规范与校园安全。")
    lt.signature(doc, "{{ event.date|cn_date }}")
    lt.letter_record(doc)
    sv.save(doc, str(path))
    context = {"settings": {"issuer_name": "某某县人民政府教育督导室"}, "numbers": {"n": "某教督函〔2026〕5号"},
               "event": {"date": "2026-03-10"}, "cc": CC}
    path.write_bytes(render(path, context))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """`gongwen demo` once, then ONE soffice call over every document it produced and the two long
    tables: {file stem: (docx path, Pdf)}."""
    require_soffice()
    from workflow.demo.run import run_demo
    from workflow.documents.office import convert_to_pdf

    base = tmp_path_factory.mktemp("pagination")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GONGWEN_NOW", NOW)
        made = run_demo(str(base / "demo"))
    files = sorted(Path(made["workspace"], "documents").glob("*/*.docx"))
    letter = base / f"sample_{LETTER}.docx"
    letter.write_bytes(sample(LETTER))
    files.append(letter)
    letter_with_cc(base / "letter_cc.docx")
    files.append(base / "letter_cc.docx")
    long_table(base / "long_kept.docx", keep_rows=True)
    long_table(base / "long_split.docx", keep_rows=False)
    files += [base / "long_kept.docx", base / "long_split.docx"]
    pdfs = convert_to_pdf(files, base / "pdf")
    return {f.stem: (f, read_pdf(pdf)) for f, pdf in zip(files, pdfs)}


def sample(name: str) -> bytes:
    """The shipped template rendered with tools/sample_context.py's context of the step that renders it."""
    import importlib.util

    from workflow.documents.renderer import render

    spec = importlib.util.spec_from_file_location("gongwen_sample_context", REPO / "tools" / "sample_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (template,) = (REPO / "templates_docx").glob(f"*/{name}.docx")
    return render(template, module.sample_context(template.parent.name, template=template.name))


def of_template(rendered, names) -> list[tuple[str, Path, Pdf]]:
    found = [(stem, docx_path, pdf) for stem, (docx_path, pdf) in sorted(rendered.items())
             if template_of(docx_path) in names]
    assert found, f"the demo produced none of {sorted(names)}"
    return found


def record_lines(pdf: Pdf) -> list[Line]:
    """The 版记's 抄送 and 印发 lines."""
    return [line for line in pdf.lines if line.text.startswith("抄送：") or
            (line.text.endswith("印发") and DATE.search(line.text))]


def test_the_record_block_is_at_the_foot_of_an_even_last_page(rendered):
    """版记: on the last page, which is even; its 印发 line is the last line of the type area (a
    blank page before it when the text ends on an even page). The demo has both cases."""
    blank_before = 0
    for stem, _path, pdf in of_template(rendered, FILES):
        lines = record_lines(pdf)
        assert lines, f"{stem}: no 版记 found"
        assert {line.page for line in lines} == {pdf.pages}, f"{stem}: 版记 on {lines[0].page} of {pdf.pages}"
        assert pdf.pages % 2 == 0, f"{stem}: {pdf.pages} pages, the 版记 on an odd page"
        issued = max(lines, key=lambda line: line.y1)
        assert BOTTOM - LINE < issued.y1 <= BOTTOM + 1, f"{stem}: 印发 line ends at {issued.y1:.1f} pt"
        rows = {round(line.y0) for line in lines}
        text = [line for line in pdf.on(pdf.pages) if TOP <= line.y0 < BOTTOM and round(line.y0) not in rows]
        assert not text, f"{stem}: text on the 版记 page: {text[0].text!r}"
        if not [line for line in pdf.on(pdf.pages - 1) if TOP <= line.y0 < BOTTOM]:
            blank_before += 1
    assert blank_before, "no demo document ends its text on an even page: that case went untested"


def pages_holding(pdf: Pdf, text: str) -> set[int]:
    """The pages on which some run of pieces, each to the right of the last on its row or on the
    next row in about the same column, reads ``text`` (without spaces) whole."""
    found = set()
    for start in pdf.lines:
        if not start.text or not text.startswith(start.text) or start.page in found:
            continue
        read, last = start.text, start
        while read != text:
            after = [line for line in pdf.on(last.page) if line.text and text.startswith(read + line.text)
                     and ((abs(line.y0 - last.y0) < 2 and 0 <= line.x0 - last.x1 < 24)
                          or (0 < line.y0 - last.y0 < 1.6 * LINE and abs(line.x0 - start.x0) < 40))]
            if not after:
                break
            last = min(after, key=lambda line: (line.y0, line.x0))
            read += last.text
        if read == text:
            found.add(start.page)
    return found


def cell_is_whole(pdf: Pdf, text: str) -> bool:
    """The cell's text reads whole on one page; or else every piece of it (split at spaces: a
    form's "（签字）：　　　　（盖章）" leaves wide gaps) does, all on the same page."""
    if len(plain(text)) < 2 or pages_holding(pdf, plain(text)):
        return True
    pieces = [plain(piece) for piece in re.split(r"[\s\u3000]+", text)]
    pages = [pages_holding(pdf, piece) for piece in pieces if len(piece) >= 2]
    return not pages or bool(set.intersection(*pages))


def split_cells(path: Path, pdf: Pdf) -> list[str]:
    """The cells of a document's tables that no single page holds whole."""
    split = []
    for table in docx.Document(str(path)).tables:
        for row in table.rows:
            for cell in row.cells:
                if not cell_is_whole(pdf, cell.text):
                    split.append(cell.text)
    return split


def test_no_table_row_is_split_across_pages(rendered):
    checked = 0
    for stem, (path, pdf) in sorted(rendered.items()):
        if stem.startswith("long_split"):
            continue
        assert not split_cells(path, pdf), f"{stem}: cells split across pages"
        checked += 1
    long_path, long_pdf = rendered["long_kept"]
    assert long_pdf.pages >= 2                      # the table does cross pages
    header = [line for line in long_pdf.lines if line.text == "序号"]
    assert {line.page for line in header} == set(range(1, long_pdf.pages + 1))   # header repeats
    # the same table whose rows may split: the check sees it
    split_path, split_pdf = rendered["long_split"]
    assert split_cells(split_path, split_pdf)
    assert checked >= 20


def test_page_one_is_never_short_by_more_than_two_lines(rendered):
    """When an official document's text goes on to page 2, page 1 ends within 2 lines of the foot
    of the type area. The one keep-with-next chain is the text's last paragraph, a blank line, 署名
    and 日期 (no 孤章; the 附注 is not in it): LibreOffice moves that paragraph whole, so a page it
    leaves is short by at most the paragraph's lines + 2; the demo's documents end with one- or
    two-line paragraphs, and the first release left page 1 of the 印发通知 6 lines short."""
    measured = 0
    for stem, _path, pdf in of_template(rendered, OFFICIAL):
        page2 = [line for line in pdf.on(2) if TOP <= line.y0 < BOTTOM and line not in record_lines(pdf)]
        if not page2:
            continue
        last = max((line for line in pdf.on(1) if line.y1 < BOTTOM), key=lambda line: line.y1)
        short = int((BOTTOM - last.y1) / LINE)
        assert short <= 2, f"{stem}: page 1 ends {short} lines short (last line {last.text!r})"
        measured += 1
    assert measured, "no demo document runs past page 1"


def test_the_letter_numbers_its_pages_from_page_two(rendered):
    """信函格式 (GB/T 9704 §10.1): page 1 has the 标志, the 发文字号 under it and no page number; the
    later pages are numbered "— N —" as usual; no 印发 row."""
    _path, pdf = rendered[f"sample_{LETTER}"]
    assert pdf.pages >= 2, "the sample 信函 should run on to page 2"
    numbers = {line.page: line.text for line in pdf.lines if line.y0 > BOTTOM and re.fullmatch(r"—\d+—", line.text)}
    assert 1 not in numbers
    assert numbers == {page: f"—{page}—" for page in range(2, pdf.pages + 1)}
    first = [line.text for line in pdf.on(1)]
    assert "某某县人民政府教育督导室" in first and any(re.fullmatch(r"某教督函〔\d{4}〕\d+号", t) for t in first)
    assert not [line for line in pdf.lines if line.text.endswith("印发")]


def test_a_letter_puts_its_cc_at_the_foot_of_its_last_page(rendered):
    """A 信函's 版记 is its 抄送 alone, the last line of the type area of its last page (odd or even):
    no 印发 row, no page of its own; the GB/T 9704 checker finds nothing wrong with it."""
    import gbt9704

    path, pdf = rendered["letter_cc"]
    assert pdf.pages == 2
    cc = [line for line in pdf.lines if line.text.startswith("抄送：")]
    assert [line.page for line in cc] == [2] and cc[0].text == plain(f"抄送：{CC}。")
    assert BOTTOM - LINE < cc[0].y1 <= BOTTOM + 1
    assert not [line for line in pdf.on(2) if TOP <= line.y0 < BOTTOM and line.y0 > cc[0].y0 + 1]
    assert not [line for line in pdf.lines if line.text.endswith("印发")]
    assert gbt9704.check(path.read_bytes(), path.parent / "pdf" / "letter_cc.pdf") == []


def test_the_approval_forms_are_one_page_with_the_history_on_a_continuation_sheet(rendered):
    for stem, path, pdf in of_template(rendered, APPROVAL_FORMS):
        assert pdf.pages >= 2, f"{stem}: {pdf.pages} pages"   # a long history runs on to a further sheet
        first = "".join(line.text for line in pdf.on(1))
        second = [line for line in pdf.on(2) if line.y0 >= TOP - 10]
        assert "办理记录" not in first and "领导批示" in first, stem
        assert second[0].text.endswith("（续页）") and "办理记录" in "".join(line.text for line in second)
        labels = [re.sub(r"\s+", "", cell.text) for cell in docx.Document(str(path)).tables[0].columns[0].cells]
        page1 = Pdf(1, pdf.on(1))
        assert all(cell_is_whole(page1, label) for label in labels if label), f"{stem}: the form spills"


def test_seq_and_date_cells_stay_on_one_line_and_numbers_are_centred(rendered):
    """序号 headers and dates in tables read whole on one line (no "序/号", "2026年/11月12/日"),
    and each 序号 number is centred under its header."""
    seen = 0
    for stem, (path, pdf) in sorted(rendered.items()):
        for table in docx.Document(str(path)).tables:
            cells = [re.sub(r"\s+", "", c.text) for row in table.rows for c in row.cells]
            for text in cells:
                if text == "序号" or DATE.fullmatch(text):
                    assert any(text in line.text for line in pdf.lines), f"{stem}: {text} wraps"
                    seen += 1
        for header in (line for line in pdf.lines if line.text == "序号"):
            middle = (header.x0 + header.x1) / 2
            numbers = [line for line in pdf.on(header.page)
                       if line.text.isdigit() and line.y0 > header.y0 and line.x0 < header.x1 + 10
                       and line.x1 > header.x0 - 10]
            for number in numbers:
                assert abs((number.x0 + number.x1) / 2 - middle) < 1.5, f"{stem}: {number.text} off centre"
    assert seen >= 20


def test_full_body_lines_hold_28_characters(rendered):
    """A full line of 3号 Chinese body text holds 28 characters (29 with a closing mark hanging
    at the end), as the grid says."""
    counts = []
    for _stem, _path, pdf in of_template(rendered, OFFICIAL):
        for line in pdf.lines:
            if (line.x0 < LEFT + 2 and line.x1 > RIGHT - 16 and line.y1 - line.y0 > 18
                    and re.fullmatch(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+", line.text)):
                counts.append(len(line.text))
    assert len(counts) >= 5
    assert all(count in (28, 29) for count in counts), counts
