"""The GB/T 9704-2012 checker (gbt9704.py) on the official documents `gongwen demo` produces, and on
every official template rendered with tools/sample_context.py ("sample_<name>").

One demo, one soffice call (those documents and the broken copies that prove each point catches
what it checks: copies of a sample 文件, 信函, 公告 and 上行文), one test per (document, point).
Points that fail today because of open work are xfail(strict=True) (XFAIL): when the work lands
the test XPASSes, fails, and the mark goes."""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import gbt9704
import pytest
from gbt9704_read import W
from helpers import NOW, require_soffice
from lxml import etree

ROOT = Path(__file__).resolve().parent.parent

# Which templates are official documents (公文 under GB/T 9704: 版头 or issuer, 发文字号, 主送,
# 成文日期, 版记, page numbers), and which are not, with the reason.
OFFICIAL = {
    "印发通知": "the 发文 itself: a 通知 under the bureau's 文件 版头",
    "督导通知书": "a 通知 to the school from the 督导室, in 信函格式",
    "督导意见书": "the 督导意见书 of 《教育督导条例》: the evaluation, to the school, in 信函格式",
    "整改通知书": "a numbered 通知 to the school, in 信函格式",
    "整改复查报告": "the 督导室's 复查报告, in 信函格式",
    "督导结果通报": "a 通报 to every school under the 督导室's 文件 版头",
    "公示公告": "a 公示 published by the city: 公告 format, no 版头",
    "公示结果": "the 公示's result published by the city: 公告 format, no 版头",
    "不予认定通知": "a 通知 from the city to the school, in 信函格式",
    "推荐文件": "the county bureau's 报告 to the city: a 上行文 (签发人) under its 文件 版头",
    "命名决定": "a 决定 under the city's 文件 版头",
    "限期整改通知": "a 通知 from the city to the school, in 信函格式",
    "撤销通报": "a 通报 to the counties under the city's 文件 版头",
}
NOT_OFFICIAL = {
    "认定证书": "a certificate: landscape, its own layout and 大写 date, not a 公文",
    "发文稿纸": "internal 稿纸 (approval sheet)", "会签单": "internal countersign form",
    "印制校对单": "internal 印制/校对/用印 record",
    "审批表": "internal 审批表", "申报表": "the school's application form",
    "初审推荐表": "internal review form", "销号登记表": "internal register (登记表)",
    "实地督导安排": "the inspection team's working plan", "督导报告": "the team's internal report form",
    "现场反馈记录": "the team's record of the on-site feedback", "复查验收单": "the 督学's recheck form",
    "催办通知": "internal 督办通知单 for the 督学 following the school up",
    "修改记录": "internal change record", "撤回说明": "internal withdrawal note",
    "退回意见": "internal return note", "不予签发意见": "internal refusal note",
    "不予审定意见": "internal refusal note", "异议处理意见": "internal objection record",
    "复核意见": "internal review record",
}
# the official documents the demo produces (one test per document and point)
DEMO_OFFICIAL = ["印发通知", "督导通知书", "督导意见书", "整改通知书", "整改复查报告", "督导结果通报",
                 "公示公告", "公示结果", "推荐文件", "命名决定"]
# every official template, rendered with tools/sample_context.py (the context of the step that renders
# it: its issuer, its event), checked as "sample_<name>"
SAMPLE_OFFICIAL = sorted(OFFICIAL)
SAMPLE = "sample_"
CHECKED = DEMO_OFFICIAL + [SAMPLE + name for name in SAMPLE_OFFICIAL]

XFAIL: dict[tuple[str, str], str] = {}    # (document, point): reason, for points that fail for open work


def template_of(path: Path) -> str:
    """KEY_NN_transition_模板.docx -> 模板."""
    return path.stem.rsplit("_", 1)[-1]


# --- broken copies: each must fail the named point -----------------------------------------------
def _xml(parts: dict, name: str, fn) -> None:
    root = etree.fromstring(parts[name])
    assert fn(root) is not False, f"mutation found nothing to change in {name}"
    parts[name] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _sub(parts: dict, name: str, pattern: str, repl, count: int = 0) -> None:
    text, n = re.subn(pattern, repl, parts[name].decode("utf-8"), count=count)
    assert n, f"mutation {pattern!r} found nothing in {name}"
    parts[name] = text.encode("utf-8")


def _style(parts: dict, style: str, pattern: str, repl: str) -> None:
    def change(match):
        out, n = re.subn(pattern, repl, match[0])
        assert n, f"{pattern!r} not in style {style}"
        return out
    _sub(parts, "word/styles.xml", r'<w:style [^>]*w:styleId="%s".*?</w:style>' % style, change)


def _paras(root, style: str) -> list:
    return [p for p in root.iter("{%s}p" % W)
            if p.find("{%s}pPr/{%s}pStyle[@{%s}val='%s']" % (W, W, W, style)) is not None
            and "".join(p.itertext()).strip()]


def _set_text(root, style: str, index: int, text: str) -> None:
    ts = list(_paras(root, style)[index].iter("{%s}t" % W))
    ts[0].text = text
    for t in ts[1:]:
        t.text = ""


def _footers(parts: dict) -> list[str]:
    """The footer parts that hold a page number."""
    return [n for n in parts if re.fullmatch(r"word/footer\d+\.xml", n) and b"PAGE" in parts[n]]


def _grid(parts: dict, line: int, chars: int) -> None:
    def change(root):
        sect = root.find("{%s}body/{%s}sectPr" % (W, W))
        for old in sect.findall("{%s}docGrid" % W):
            sect.remove(old)
        grid = etree.SubElement(sect, "{%s}docGrid" % W)
        grid.set("{%s}type" % W, "linesAndChars")
        grid.set("{%s}linePitch" % W, str(line))
        grid.set("{%s}charSpace" % W, str(chars))
    _xml(parts, "word/document.xml", change)


DOC, STYLES = "word/document.xml", "word/styles.xml"
BASE, LETTER, NOTICE, UPWARD = (SAMPLE + n for n in ("印发通知", "督导意见书", "公示公告", "推荐文件"))
# name: (point that must fail, mutation, the document it breaks: a 文件, a 信函, a 公告 or a 上行文)
MUTANTS: dict[str, tuple[str, Callable[[dict], None], str]] = {}


def mutant(point: str, base: str = BASE):
    def register(fn):
        MUTANTS[fn.__name__] = (point, fn, base)
        return fn
    return register


def _insert(parts: dict, xml: str, at_start: bool = False) -> None:
    """Paragraphs (w: prefixed XML) added at the start of the body, or at its end (before its sectPr)."""
    w = 'xmlns:w="%s"' % W
    if at_start:
        _sub(parts, DOC, r"(<w:body>)", lambda m: m[1] + xml.replace("<w:p>", "<w:p %s>" % w), 1)
    else:
        _sub(parts, DOC, r"(<w:sectPr[^/]*?>(?:(?!<w:sectPr).)*</w:sectPr>\s*</w:body>)",
             lambda m: xml.replace("<w:p>", "<w:p %s>" % w) + m[1], 1)


def _header_with_mark(parts: dict) -> str:
    (name,) = [n for n in parts if re.fullmatch(r"word/header\d+\.xml", n) and b"GWIssuerMark" in parts[n]]
    return name


ISSUED_ROW = ('<w:p><w:pPr><w:pStyle w:val="GWRecord"/></w:pPr><w:r><w:t>某某县教育局办公室</w:t></w:r>'
              '<w:r><w:tab/></w:r><w:r><w:t>2024年4月24日印发</w:t></w:r></w:p>')


@mutant("margins")
def margin(p):
    _sub(p, DOC, r'(<w:pgMar [^>]*w:top=")\d+"', r'\g<1>1700"')


@mutant("paper_a4")
def letter_paper(p):
    _sub(p, DOC, r'<w:pgSz w:w="\d+" w:h="\d+"', '<w:pgSz w:w="12240" w:h="15840"')


@mutant("type_area")
def wide_right_margin(p):
    _sub(p, DOC, r'(<w:pgMar [^>]*w:right=")\d+"', r'\g<1>1900"')


@mutant("char_grid")
def bad_grid(p):
    _grid(p, 640, -1024)


@mutant("body_grid")
def wide_characters(p):
    _style(p, "GWBody", r'<w:spacing w:val="-?\d+"/>', '<w:spacing w:val="20"/>')


@mutant("issuer_mark")
def black_mark(p):
    _style(p, "GWIssuerMark", "FF0000", "000000")
    _sub(p, DOC, r'(<w:pStyle w:val="GWIssuerMark"/>.*?)FF0000', r"\g<1>000000", 1)


@mutant("issuer_mark_place")
def high_mark(p):
    _style(p, "GWIssuerMark", r'w:before="\d+"', 'w:before="0"')


@mutant("doc_number_form")
def square_brackets(p):
    _sub(p, DOC, "〔(\\d{4})〕", r"[\1]")


@mutant("doc_number_form")
def padded_number(p):
    _sub(p, DOC, "〕(\\d+)号", r"〕00\1号")


@mutant("doc_number_place")
def left_number(p):
    _style(p, "GWDocNumber", r'<w:jc w:val="center"/>', '<w:jc w:val="left"/>')


@mutant("red_line")
def black_line(p):
    _sub(p, DOC, r'(<w:bottom [^>]*w:color=")FF0000"', r'\g<1>000000"')


@mutant("title_font")
def small_title(p):
    _style(p, "GWTitle", r'<w:sz w:val="\d+"/>', '<w:sz w:val="32"/>')


@mutant("title_lines")
def title_widow(p):  # 20 characters fill a 2号 line: the 21st stands alone
    _xml(p, DOC, lambda r: _set_text(r, "GWTitle", 0, "关于进一步加强中小学校园安全管理工作的通知"))


@mutant("title_place")
def title_high(p):  # one of the two blank lines above the title goes
    def drop(root):
        blank = _paras(root, "GWTitle")[0].getprevious()
        assert blank.tag == "{%s}p" % W and not "".join(blank.itertext()).strip()
        blank.getparent().remove(blank)
    _xml(p, DOC, drop)


@mutant("main_to")
def main_to_no_colon(p):  # (the first GW Main To paragraph is the 紧急程度 line)
    _xml(p, DOC, lambda r: _set_text(r, "GWMainTo", -1, "各乡镇中心学校"))


@mutant("body_text")
def body_not_indented(p):
    _style(p, "GWBody", r"<w:ind [^>]*/>", '<w:ind w:firstLine="0"/>')


@mutant("heading_levels")
def heading_in_fangsong(p):
    _sub(p, DOC, r'w:eastAsia="黑体"', 'w:eastAsia="仿宋_GB2312"')


@mutant("no_word_bold")
def bold_heading(p):
    _style(p, "GWHeading1", r"<w:rPr>", "<w:rPr><w:b/>")


@mutant("colours")
def blue_body(p):
    _style(p, "GWBody", r"<w:rPr>", '<w:rPr><w:color w:val="0000FF"/>')


@mutant("date_form")
def padded_date(p):
    _xml(p, DOC, lambda r: _set_text(r, "GWSignature", 1, "2026年03月06日"))


@mutant("date_place")
def date_flush_right(p):
    _style(p, "GWSignature", r"<w:ind [^>]*/>", '<w:ind w:right="0"/>')


@mutant("text_forms")
def english(p):
    _xml(p, DOC, lambda r: _set_text(r, "GWBody", 0, "Draft: 2026-12-06"))


@mutant("first_page_text")
def main_to_on_page_2(p):
    _style(p, "GWMainTo", r"<w:keepNext/>", "<w:keepNext/><w:pageBreakBefore/>")


@mutant("record_rows")
def no_issued_word(p):
    _sub(p, DOC, r"日印发<", "日<")


@mutant("record_rules")
def thin_record_rule(p):  # the 版记's first separator 0.07 mm
    def thin(root):
        (table,) = {next(a for a in para.iterancestors("{%s}tbl" % W)) for para in _paras(root, "GWRecord")}
        table.find("{%s}tblPr/{%s}tblBorders/{%s}top" % (W, W, W)).set("{%s}sz" % W, "2")
    _xml(p, DOC, thin)


@mutant("record_on_even_last_page", UPWARD)   # its text ends on page 2
def odd_record_page(p):  # the 版记's section starts on the next page, not the next even one
    _sub(p, DOC, r'<w:type w:val="evenPage"/>', '<w:type w:val="nextPage"/>')


@mutant("note_place")
def note_without_parentheses(p):
    _xml(p, DOC, lambda r: _set_text(r, "GWNote", 0, "此件主动公开"))


@mutant("pdf_faces_per_element")
def title_in_body_face(p):
    for part in (STYLES, DOC):
        _sub(p, part, "方正小标宋简体|黑体", "仿宋_GB2312")


@mutant("red_line", LETTER)
def letter_with_a_single_line(p):  # the thin line under the 标志 goes
    _sub(p, _header_with_mark(p), r'<w:bottom w:val="single" w:sz="6"[^>]*/>', "")


@mutant("issuer_mark_place", LETTER)
def letter_mark_low(p):  # the header 42 mm from the top instead of 30
    _sub(p, DOC, r'w:header="1701"', 'w:header="2400"')


@mutant("doc_number_place", LETTER)
def letter_number_centred(p):
    _sub(p, DOC, r'(<w:pStyle w:val="GWDocNumber"/>(?:(?!</w:pPr>).)*?)<w:tabs>.*?</w:tabs>((?:(?!</w:pPr>).)*?)'
         r'<w:jc w:val="left"/>', r'\1\2<w:jc w:val="center"/>', 1)


@mutant("page_number_form", LETTER)
def letter_numbered_page_one(p):  # no different first page: page 1 gets the page number
    _sub(p, DOC, r"<w:titlePg/>", "")


@mutant("record_rows", LETTER)
def letter_with_an_issued_row(p):  # 信函格式: no 印发机关/印发日期
    _insert(p, ISSUED_ROW)


@mutant("issuer_mark_place")
def format_says_letter(p):  # the rules follow gongwen_format: a 文件 marked 信函 has its 标志 too low
    _sub(p, "docProps/custom.xml", ">文件<", ">信函<")


@mutant("red_line", NOTICE)
def notice_with_a_red_line(p):
    _insert(p, '<w:p><w:pPr><w:pStyle w:val="GWRule"/><w:pBdr><w:bottom w:val="single" w:sz="12" w:space="0" '
               'w:color="FF0000"/></w:pBdr></w:pPr></w:p>', at_start=True)


@mutant("issuer_mark", NOTICE)
def notice_with_a_mark(p):
    _insert(p, '<w:p><w:pPr><w:pStyle w:val="GWIssuerMark"/></w:pPr><w:r><w:t>某某市教育局</w:t></w:r></w:p>',
            at_start=True)


@mutant("title_place", NOTICE)
def notice_title_low(p):
    _insert(p, '<w:p><w:pPr><w:pStyle w:val="GWBody"/></w:pPr></w:p>' * 2, at_start=True)


@mutant("record_rows", NOTICE)
def notice_with_a_record(p):
    _insert(p, ISSUED_ROW)


@mutant("doc_number_place", UPWARD)
def upward_number_flush(p):  # 发文字号 and 签发人 not 空一字 from the edges
    _sub(p, DOC, r'(<w:pStyle w:val="GWDocNumber"/>(?:(?!</w:pPr>).)*?)<w:ind w:left="320" w:right="320"/>',
         r'\1<w:ind w:left="0" w:right="0"/>', 1)


@mutant("doc_number_place", UPWARD)
def upward_signer_in_fangsong(p):  # the 签发人's name in 仿宋, not 楷体
    _sub(p, DOC, r'w:eastAsia="楷体_GB2312"', 'w:eastAsia="仿宋_GB2312"')


@mutant("signature_over_date")
def signature_off_centre(p):  # the 署名's centre tab stop 30 mm to the left
    _sub(p, DOC, r'(<w:pStyle w:val="GWSignature"/>(?:(?!</w:pPr>).)*?<w:tab w:val="center" w:pos=")(\d+)"',
         lambda m: m[1] + str(int(m[2]) - 1700) + '"', 1)


@mutant("page_number_form")
def plain_page_numbers(p):
    for part in _footers(p):
        _sub(p, part, r"— | —", "")


@mutant("page_number_place")
def centred_page_numbers(p):
    for part in _footers(p):
        _sub(p, part, r'<w:jc w:val="(right|left)"/>', '<w:jc w:val="center"/>')


GOOD_GRID = "good_grid"   # a correct 22 × 28 grid added: char_grid must pass
GOOD_SEAL = "good_seal"   # 署名 and date centred on one tab stop: signature_over_date must pass


def _centre_signature(root) -> None:
    """署名 and 成文日期 each centred on a centre tab stop at 6000 twips."""
    for para in _paras(root, "GWSignature")[:2]:
        ppr = para.find("{%s}pPr" % W)
        for child in list(ppr):
            if child.tag != "{%s}pStyle" % W:
                ppr.remove(child)
        ppr.append(etree.fromstring('<w:tabs xmlns:w="%s"><w:tab w:val="center" w:pos="6000"/></w:tabs>' % W))
        ppr.append(etree.fromstring('<w:ind xmlns:w="%s" w:left="0" w:right="0"/>' % W))
        ppr.append(etree.fromstring('<w:jc xmlns:w="%s" w:val="left"/>' % W))
        for run in para.findall("{%s}r" % W):
            for tab in run.findall("{%s}tab" % W):
                run.remove(tab)  # the template's own tab stop and tab: replaced by the mutant's
        ppr.addnext(etree.fromstring('<w:r xmlns:w="%s"><w:tab/></w:r>' % W))


def _mutate(docx: bytes, change) -> bytes:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    change(parts)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return out.getvalue()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """`gongwen demo` once, then ONE soffice call over its official documents, the sample ones and
    the broken copies: {"docs": {name: (docx bytes, pdf path)}, "templates": names the demo produced}.
    Under xdist the first worker builds them in the session's shared folder and the others wait and
    read them (a module fixture runs once per worker)."""
    require_soffice()
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _load(_build(tmp_path_factory.mktemp("gbt9704")))
    shared = tmp_path_factory.getbasetemp().parent     # this session's, common to its workers
    with open(shared / "gbt9704.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        base = shared / "gbt9704"
        if not (base / "manifest.json").exists():
            _build(base)
    return _load(base)


def _load(base: Path) -> dict:
    """The documents as gbt9704.Document (each reads its PDF once, then answers every point)."""
    manifest = json.loads((base / "manifest.json").read_text("utf-8"))
    return {"docs": {n: gbt9704.Document(Path(d).read_bytes(), Path(p), n) for n, (d, p) in manifest["docs"].items()},
            "templates": set(manifest["templates"]), "all": [Path(p) for p in manifest["all"]]}


def _build(base: Path) -> Path:
    from workflow.demo.run import run_demo
    from workflow.documents.office import convert_to_pdf

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GONGWEN_NOW", NOW)
        made = run_demo(str(base / "demo"))
    produced = sorted(Path(made["workspace"], "documents").glob("*/*.docx"))
    latest = {template_of(p): p for p in produced}    # the last one of each template
    files = {}
    for name in DEMO_OFFICIAL:
        if name in latest:
            files[name] = latest[name].read_bytes()
    for name in SAMPLE_OFFICIAL:
        files[SAMPLE + name] = _sample(name)
    for name, (_point, change, original) in MUTANTS.items():
        files["mutant_" + name] = _mutate(files[original], change)
    files["mutant_" + GOOD_GRID] = _mutate(files[BASE], lambda p: _grid(p, 579, -849))
    files["mutant_" + GOOD_SEAL] = _mutate(files[BASE], lambda p: _xml(p, DOC, _centre_signature))
    sources = base / "docx"
    sources.mkdir()
    paths = []
    for name, data in files.items():
        (sources / f"{name}.docx").write_bytes(data)
        paths.append(sources / f"{name}.docx")
    pdfs = convert_to_pdf(paths, base / "pdf")
    manifest = {"docs": {n: [str(d), str(p)] for n, d, p in zip(files, paths, pdfs)},
                "templates": sorted({template_of(p) for p in produced}), "all": [str(p) for p in produced]}
    (base / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), "utf-8")
    return base


def _sample(name: str) -> bytes:
    """The shipped template rendered with tools/sample_context.py's context for its workflow."""
    import importlib.util

    from workflow.documents.renderer import render

    spec = importlib.util.spec_from_file_location("gongwen_sample_context", ROOT / "tools" / "sample_context.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (template,) = (ROOT / "templates_docx").glob(f"*/{name}.docx")
    return render(template, module.sample_context(template.parent.name, template=template.name))


def test_every_template_is_classified():
    """A new template must be put in OFFICIAL (and so be checked) or in NOT_OFFICIAL with a reason."""
    shipped = {p.stem for p in (ROOT / "templates_docx").glob("*/*.docx")}
    assert not OFFICIAL.keys() & NOT_OFFICIAL.keys()
    assert shipped - OFFICIAL.keys() - NOT_OFFICIAL.keys() == set()


def test_the_demo_official_documents_are_all_checked(rendered):
    """Every official document the demo produces is in DEMO_OFFICIAL (so it gets its tests)."""
    produced = rendered["templates"]
    assert produced - OFFICIAL.keys() - NOT_OFFICIAL.keys() == set(), "classify these templates"
    assert sorted(produced & OFFICIAL.keys()) == sorted(DEMO_OFFICIAL)


def _cases():
    for doc in CHECKED:
        for name in gbt9704.ALL:
            reason = XFAIL.get((doc, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(doc, name, marks=marks, id=f"{doc}-{name}")


@pytest.mark.parametrize("doc,point", list(_cases()))
def test_gbt9704(rendered, doc, point):
    problem = gbt9704.ALL[point](rendered["docs"][doc])
    assert problem is None, f"{doc}: {point}: {problem}"


# item keys and form codes (JH-2025-0001, 校验码 JH-2025-0001/r3/f3-finance/3885…) are identifiers
IDENTIFIER = re.compile(r"[A-Z]{2,4}-\d{4}-\d{4}[\w/#-]*")


def test_no_raw_dates_or_english_in_any_demo_document(rendered):
    """Issue 15: no raw timestamps and no English in any document the demo produces, forms included."""
    found = {}
    for path in rendered["all"]:
        text = "\n".join(p.text for p in gbt9704.Document(path.read_bytes(), Path(os.devnull)).paras)
        bad = re.findall(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?|[A-Za-z]{2,}", IDENTIFIER.sub("", text))
        if bad:
            found[path.name] = bad
    assert rendered["all"] and not found


def test_at_least_twenty_points():
    assert len(gbt9704.ALL) >= 20
    assert all(fn.__doc__ and fn.__doc__.strip() for fn in gbt9704.ALL.values())


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_checker_names_a_broken_document(rendered, mutant):
    """Each broken copy of a sample document (the 印发通知, or a 信函, 公告 or 上行文 for the rules of
    those formats) fails its point, which the original passes (unless the original fails it for
    open work, see XFAIL)."""
    point, _change, base = MUTANTS[mutant]
    broken = rendered["docs"]["mutant_" + mutant]
    problems = gbt9704.check(broken.docx, broken.pdf, mutant)
    assert any(p.startswith(point + ":") for p in problems), problems
    if (base, point) not in XFAIL:
        assert gbt9704.ALL[point](rendered["docs"][base]) is None


# points without a broken copy, and why
UNBROKEN = {
    "pdf_no_japanese_face": "gongwen's fontconfig hides the Noto CJK collections, so no .docx can make LibreOffice "
                            "embed a Japanese face; the point failed on all 7 documents before that (NotoSansCJKjp)",
}


def test_every_point_has_a_broken_copy():
    covered = {point for point, _change, _base in MUTANTS.values()}
    assert set(gbt9704.ALL) - covered == set(UNBROKEN)


def test_a_centred_signature_passes(rendered):
    """The 署名 centred over the date on a tab stop of its own passes too."""
    assert gbt9704.ALL["signature_over_date"](rendered["docs"]["mutant_" + GOOD_SEAL]) is None


def test_a_correct_grid_passes(rendered):
    assert gbt9704.ALL["char_grid"](rendered["docs"]["mutant_" + GOOD_GRID]) is None
