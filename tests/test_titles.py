"""Titles broken by rule (issue 15; workflow/documents/titles.py and the title_lines filter).

Each of 63 real-style 教育局 titles is broken and its lines checked against every rule, measured
here independently of the module: no line wider than the 版心 allows a 2号 title (from the page
geometry of tools/_gbt9704.py), as few lines as that width allows, no line of one or two characters,
no break inside a word or a short 《》/（）/〔〕 group, no line starting with a closing mark or ending
with an opening one, and a 梯形 (上长下短) or 菱形 shape. The three bad breaks the issue quotes are
shown to come from filling each line to the edge, and not to happen here. Then the templates: every
title paragraph of every official template goes through the filter, a rendered title reads back
(python-docx) as the same lines, and LibreOffice keeps them.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import re
import unicodedata
import zipfile
from pathlib import Path

import docx
import pytest
from helpers import REPO, require_soffice
from markupsafe import Markup

from workflow.documents import titles
from workflow.documents.cnformat import FILTERS, cn_time, title_line_list, title_lines
from workflow.documents.renderer import render

TITLES = [
    "关于开展2025年春季学期中小学校综合督导的通知",
    "关于印发《某某县教育局2025年工作要点》的通知",
    "关于某某县城关中学拟认定为市级清廉学校示范校的公示",
    "关于2025年度市级清廉学校示范校拟认定对象的公示",
    "关于对某某县城关镇第一中心小学开展综合督导的通知",
    "关于某某县实验小学综合督导的督导意见书",
    "关于某某县城关镇第一中心小学综合督导的督导意见书",
    "关于2024—2025学年度第二学期中小学校责任督学挂牌督导工作的通报",
    "关于转发《教育部办公厅关于做好2025年普通高校招生工作的通知》的通知",
    "关于表彰2024年度全县教育系统先进集体和先进个人的决定",
    "关于某某县第三中学督导问题限期整改的通知",
    "关于某某县城关镇第一中心小学督导问题限期整改的通知",
    "关于某某县实验小学督导整改情况的复查报告",
    "关于督促某某县城关中学按期报送整改报告的通知",
    "关于2025年度县级清廉学校合格校拟认定对象公示结果的说明",
    "关于某某县第二中学清廉学校认定结果的通知",
    "关于撤销某某县第二中学“清廉学校示范校”命名的决定",
    "关于印发《某某县教育局2025年安全生产工作要点》的通知",
    "关于印发《某某县中小学校责任督学挂牌督导实施方案》的通知",
    "关于下达2025年义务教育薄弱环节改善与能力提升补助资金的通知",
    "关于公布2025年度县级优秀班主任评选结果的通报",
    "关于做好2025年秋季学期中小学开学工作的通知",
    "关于进一步加强中小学校校园安全管理工作的通知",
    "关于开展2025年度教育系统安全隐患大排查大整治行动的通知",
    "关于做好2025年寒假期间学生安全教育工作的通知",
    "关于组织开展2025年中小学生暑期防溺水专项行动的通知",
    "关于印发《某某县教育局机关公文处理办法》的通知",
    "关于调整某某县教育局党风廉政建设工作领导小组成员的通知",
    "关于成立某某县教育督导委员会的通知",
    "关于2025年春季学期中小学教材征订工作的通知",
    "关于申报2025年度市级教育科研课题的通知",
    "关于推荐2025年度省级义务教育标准化学校的请示",
    "关于某某县城关中学申报市级清廉学校示范校的推荐意见",
    "关于开展全县中小学校财务管理专项督导的通知",
    "关于报送2025年教育事业统计数据的通知",
    "关于转发《某某市教育局关于加强中小学生手机管理的通知》的通知",
    "关于表彰某某县2025年度优秀教师和优秀教育工作者的决定",
    "关于某某县第一中学申请增设普通高中学位的批复",
    "关于举办2025年全县中小学教师教学技能大赛的通知",
    "关于召开2025年全县教育工作会议的通知",
    "关于加强学前教育普及普惠工作的实施意见",
    "关于印发《某某县“双减”工作督导检查实施方案》的通知",
    "关于某某县实验幼儿园创建市级示范幼儿园的评估意见",
    "关于2025年全县中小学校食堂食品安全专项检查情况的通报",
    "关于征集2025年度教育系统为民办实事项目的函",
    "关于规范中小学校收费行为的通知",
    "关于开展清廉学校建设三年行动的实施方案",
    "关于印发《某某县清廉学校建设评价指标（试行）》的通知",
    "关于公布某某县第二批清廉学校示范校名单的通知",
    "关于做好2025年度中小学教师资格定期注册工作的通知",
    "关于某某县城关中学等5所学校综合督导情况的通报",
    "关于某某县教育局2025年上半年工作总结和下半年工作计划的报告",
    "关于确定某某县2025年义务教育阶段学校招生划片范围的通知",
    "关于启动2025年度县级名师名校长工作室申报工作的通知",
    "关于规范义务教育阶段学校作业管理的通知",
    "关于公布2025年某某县中小学（幼儿园）责任督学名单的通知",
    "关于开展2025年全县中小学校春季学期开学工作专项督导的通知",
    "关于对某某县城关镇中心学校等三所学校开展挂牌督导的通知",
    "关于转发《某某省教育厅办公室关于做好2025年全省中小学校春季学期开学工作的通知》的通知",
    "关于对某某县城关镇第一中心小学某某县城关镇第二中心小学和某某县实验幼儿园开展综合督导的通知",
    "关于贯彻落实某教发〔2025〕12号文件精神进一步做好中小学校安全工作的通知",
    "关于做好2025年“六一”国际儿童节期间有关工作的通知",
    "关于表彰第3届全县中小学生运动会优秀组织单位的决定",
]
# words no line break may fall inside, wherever they occur in a title
WORDS = ["通知", "意见书", "公示", "决定", "通报", "报告", "请示", "批复", "说明", "实施意见", "评估意见", "推荐意见",
         "实施方案", "工作要点", "对象", "中学", "小学", "学校", "中心学校", "中心小学", "幼儿园", "督导", "督学",
         "清廉学校", "示范校", "合格校", "教育局", "某某县", "某某市", "某某省", "城关镇", "中小学", "中小学校",
         "义务教育", "学前教育", "整改", "认定", "拟认定", "工作", "学年度", "学期", "春季学期", "秋季学期",
         "2024年", "2025年", "2024年度", "2025年度", "2024—2025学年度", "第二批", "5所学校", "按期报送", "进一步",
         "教育部", "办公厅", "教育厅", "办公室", "班主任", "幼儿园", "责任督学", "挂牌督导", "综合督导", "专项督导",
         "（试行）", "（幼儿园）", "某教发〔2025〕12号", "“六一”", "国际儿童节", "运动会"]
OPENING, CLOSING = "《（〔“", "》）〕”、，。：；"
# the three breaks issue 15 quotes, and a title that gave each when lines were filled to the edge
BAD_BREAKS = [("关于对某某县第一实验小学开展综合督导的通知", "综合督导的通", "知"),
              ("关于某某县第一实验小学综合督导的督导意见书", "督导意见", "书"),
              ("关于2024年度市级清廉学校示范校拟认定对象的公示", "拟认定对", "象的公示")]


def units(text: str) -> int:
    """Width in thousandths of an em: 1000 a Chinese character or full-width mark, 650 an ASCII letter
    or digit (as wide as LibreOffice's fallback face sets them), 500 other ASCII, and 250 for the gap
    Word and LibreOffice put between Chinese and a letter or digit."""
    latin = lambda c: c.isascii() and c.isalnum()
    wide = lambda c: unicodedata.east_asian_width(c) in ("W", "F") and c not in OPENING + CLOSING + "—"
    width = sum(650 if latin(c) else 500 if unicodedata.east_asian_width(c) in ("Na", "H") else 1000 for c in text)
    return width + 250 * sum((wide(a) and latin(b)) or (latin(a) and wide(b)) for a, b in zip(text, text[1:]))


def version_width() -> int:
    """The width of the 版心 of the templates' page, in thousandths of a 2号 (22 pt = 440 twips) em."""
    spec = importlib.util.spec_from_file_location("gongwen_gbt9704_layout", REPO / "tools" / "_gbt9704.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TYPE_WIDTH * 1000 // 440


def fill_to_edge(title: str, width: int) -> list[str]:
    """What an office suite does with a title it is left to wrap: fill each line to the edge."""
    lines = [""]
    for char in title:
        if units(lines[-1] + char) > width:
            lines.append("")
        lines[-1] += char
    return lines


def shape_ok(widths: list[int]) -> bool:
    """梯形 (each line no longer than the one above) or 菱形 (up to a middle line, then down)."""
    down = lambda ws: all(a >= b for a, b in zip(ws, ws[1:]))
    up = lambda ws: all(a <= b for a, b in zip(ws, ws[1:]))
    return down(widths) or any(up(widths[:p + 1]) and down(widths[p:]) for p in range(1, len(widths) - 1))


def breaks(lines: list[str]) -> list[int]:
    ends, at = [], 0
    for line in lines[:-1]:
        at += len(line)
        ends.append(at)
    return ends


def test_line_width_comes_from_the_page_geometry():
    assert version_width() == 20100  # 8844 twips (156 mm) / 440 twips: 20 characters of 22 pt
    assert titles.FULL_LINE_UNITS == version_width()
    assert titles.LINE_UNITS == version_width() - 500  # a title never fills its line
    assert all(units(t) == titles.text_units(t) for t in TITLES)
    assert units("关于召开2025年全县教育工作会议的通知") == 16 * 1000 + 4 * 650 + 2 * 250


def test_sixty_real_style_titles():
    assert len(TITLES) == len(set(TITLES)) >= 60


@pytest.mark.parametrize("title", TITLES)
def test_title_is_broken_by_every_rule(title):
    lines = titles.split_title(title)
    width = titles.LINE_UNITS
    assert "".join(lines) == title, lines  # nothing lost, nothing added
    widths = [units(line) for line in lines]
    assert max(widths) <= width <= version_width(), lines
    fewest = -(-units(title) // width)
    if len(lines) > fewest:  # as few lines as the width allows: no breaking between words into fewer
        parts = titles.atoms(title)
        assert not any(titles.valid(["".join(parts[a:b]) for a, b in zip((0, *cuts), (*cuts, len(parts)))])
                       for count in range(fewest, len(lines))
                       for cuts in itertools.combinations(range(1, len(parts)), count - 1)), lines
    if len(lines) > 1:
        assert all(sum(c not in OPENING + CLOSING for c in line) >= 3 for line in lines), lines
    for at in breaks(lines):
        for word in WORDS:
            for match in re.finditer(re.escape(word), title):
                assert not match.start() < at < match.end(), f"{lines}: break inside {word}"
        for group in re.finditer(r"《[^》]*》|（[^）]*）|〔[^〕]*〕", title):
            if units(group.group()) <= width // 2:
                assert not group.start() < at < group.end(), f"{lines}: break inside {group.group()}"
    assert not any(line[0] in CLOSING or line[-1] in OPENING for line in lines), lines
    if not shape_ok(widths):  # then no breaking between the same words into as many lines has the shape
        parts = titles.atoms(title)
        for cuts in itertools.combinations(range(1, len(parts)), len(lines) - 1):
            bounds = (0, *cuts, len(parts))
            other = ["".join(parts[a:b]) for a, b in zip(bounds, bounds[1:])]
            assert not (titles.valid(other) and shape_ok([units(line) for line in other])), \
                f"{lines}: {widths} is neither 梯形 nor 菱形, but {other} is"


@pytest.mark.parametrize("title, before, after", BAD_BREAKS)
def test_the_breaks_the_issue_quotes_do_not_happen(title, before, after):
    naive = fill_to_edge(title, version_width())
    assert any(a.endswith(before) and b.startswith(after) for a, b in zip(naive, naive[1:])), naive
    lines = titles.split_title(title)
    assert len(lines) == 2 and all(len(line) >= 3 for line in lines), lines
    assert not any(a.endswith(before) and b.startswith(after) for a, b in zip(lines, lines[1:])), lines


def test_short_titles_stay_on_one_line_and_long_ones_are_bounded():
    assert titles.split_title("关于召开全县教育工作会议的通知") == ["关于召开全县教育工作会议的通知"]
    assert titles.split_title("  关于召开\n全县教育工作会议的通知 ") == ["关于召开 全县教育工作会议的通知"]
    assert titles.split_title("") == [] and titles.split_title("   ") == []
    exact = "关于某某县第三中学督导问题限期整改的通知"  # 20 characters fill the 版心: two lines
    assert len(exact) == 20 and len(titles.split_title(exact)) == 2
    huge = "关于" + "某某县城关镇第一中心小学" * 40 + "的通知"  # no title is this long: filled, still bounded
    lines = titles.split_title(huge)
    assert "".join(lines) == huge and max(units(line) for line in lines) <= titles.LINE_UNITS
    unbroken = "A" * 70  # one word wider than a line is cut by characters
    assert [len(line) for line in titles.split_title(unbroken)] == [30, 30, 10]


def test_the_same_title_always_gives_the_same_lines():
    assert [titles.split_title(t) for t in TITLES] == [titles.split_title(t) for t in TITLES]


def test_filter_joins_lines_and_escapes():
    assert FILTERS["title_lines"] is title_lines
    assert title_lines(TITLES[0]) == "\n".join(titles.split_title(TITLES[0]))
    assert title_lines(None) == "" and title_line_list("") == []
    # a {% filter %} block hands over escaped markup; the result is escaped again, never raw
    escaped = Markup("关于印发《某某县教育局2025年工作要点（&lt;试行&gt; &amp; 修订）》的通知")
    result = title_lines(escaped)
    assert isinstance(result, Markup) and "<" not in result and "&lt;试行&gt;" in result
    assert result.unescape().replace("\n", "") == escaped.unescape()


@pytest.mark.parametrize("value, expected", [
    ("2025-03-10T09:05:33.123456+08:00", "9时5分"), ("2025-03-10T14:30:00Z", "14时30分"),
    ("09:30", "9时30分"), (None, ""), ("", ""),
])
def test_cn_time(value, expected):
    assert cn_time(value) == expected


def test_cn_time_rejects_what_is_not_a_time():
    with pytest.raises(ValueError, match="is not a time"):
        cn_time("上午九点")


# -- the templates -----------------------------------------------------------------------------
def sample_context(workflow_id: str) -> dict:
    spec = importlib.util.spec_from_file_location("gongwen_sample_context", REPO / "tools" / "sample_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_context(workflow_id)


def title_paragraphs(document: docx.document.Document) -> list:
    return [p for p in document.paragraphs if p.style.name == "GW Title" and p.text.strip()]


OFFICIAL = sorted(path for path in (REPO / "templates_docx").glob("*/*.docx")
                  if b"GWTitle" in zipfile.ZipFile(path).read("word/document.xml")
                  and path.name != "认定证书.docx")  # the certificate's big lines are not a 公文 title


def test_every_official_title_goes_through_the_filter():
    assert len(OFFICIAL) >= 10
    for path in OFFICIAL:
        for paragraph in title_paragraphs(docx.Document(str(path))):
            assert "{% filter title_lines %}" in paragraph.text or "|title_lines" in paragraph.text, \
                f"{path.parent.name}/{path.name}: «{paragraph.text}» is left to the office suite"


@pytest.mark.parametrize("path", OFFICIAL, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_rendered_titles_read_back_as_their_lines(path):
    context = sample_context(path.parent.name)
    context.update(school="某某县城关镇第一中心小学", kind="春季学期开学工作专项督导", batch=2025, level="市级",
                   tier="示范校", title="某某县教育局2025年中小学校春季学期开学工作专项督导实施方案")
    document = docx.Document(io.BytesIO(render(path, context)))
    paragraphs = title_paragraphs(document)
    assert paragraphs
    for paragraph in paragraphs:
        lines = paragraph.text.split("\n")
        assert lines == titles.split_title("".join(lines)), lines
        assert len(paragraph.runs) == 1 and len(paragraph.runs[0]._r.findall(docx.oxml.ns.qn("w:br"))) \
            == len(lines) - 1  # one run in 小标宋, the lines split by w:br
        assert all(units(line) <= titles.LINE_UNITS for line in lines)


def test_a_long_title_renders_as_measured_lines():
    context = dict(sample_context("inspection"), school="某某县城关镇第一中心小学", kind="综合督导")
    document = docx.Document(io.BytesIO(render(REPO / "templates_docx" / "inspection" / "督导意见书.docx", context)))
    [paragraph] = title_paragraphs(document)
    assert paragraph.text.split("\n") == ["关于某某县城关镇第一中心小学", "综合督导的督导意见书"]


def test_markup_in_a_title_stays_text():
    title = "某某县教育局2025年“双减”<课后服务> & 作业管理工作要点（试行）"
    context = dict(sample_context("plan"), title=title)
    document = docx.Document(io.BytesIO(render(REPO / "templates_docx" / "plan" / "印发通知.docx", context)))
    notice, plan = title_paragraphs(document)
    flat = lambda text: "".join(text.split())  # a space at a break is dropped
    assert flat(plan.text) == flat(title) and len(plan.text.split("\n")) == 2
    assert flat(notice.text) == flat(f"关于印发《{title}》的通知")
    assert notice.text.split("\n") == titles.split_title(f"关于印发《{title}》的通知")


def test_libreoffice_keeps_the_lines(tmp_path):
    """Converted to PDF, each title line is one line of the page: the office suite does not re-wrap."""
    require_soffice()
    import subprocess

    from workflow.documents.office import convert_to_pdf

    cases = {"督导通知书": ("inspection", dict(school="某某县第一实验小学", kind="综合督导")),
             "督导意见书": ("inspection", dict(school="某某县城关镇第一中心小学", kind="综合督导")),
             "公示公告": ("clean_school", dict(batch=2024, level="市级", tier="示范校"))}
    files, expected = [], {}
    for name, (workflow, values) in cases.items():
        source = tmp_path / f"{name}.docx"
        source.write_bytes(render(REPO / "templates_docx" / workflow / f"{name}.docx",
                                  dict(sample_context(workflow), **values)))
        [paragraph] = title_paragraphs(docx.Document(str(source)))
        files.append(source)
        expected[name] = paragraph.text.split("\n")
        assert len(expected[name]) == 2
    for pdf in convert_to_pdf(files, tmp_path / "pdf"):
        text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        page_lines = ["".join(line.split()) for line in text.splitlines()]  # pdftotext spaces out digits
        for line in expected[pdf.stem]:
            assert line in page_lines, f"{pdf.stem}: «{line}» is not a line of the PDF page:\n{text[:600]}"


def test_edit_record_prints_no_raw_timestamp():
    for workflow in ("plan", "inspection", "clean_school"):
        context = sample_context(workflow)
        context["event"] = dict(context["event"], date="2025-03-10", time="2025-03-10T14:05:09.123456+08:00")
        data = render(REPO / "templates_docx" / workflow / "修改记录.docx", context)
        text = "".join(t.text or "" for t in docx.Document(io.BytesIO(data)).element.iter(docx.oxml.ns.qn("w:t")))
        assert "2025年3月10日14时5分" in text
        assert not re.search(r"\d{4}-\d{2}-\d{2}|T\d{2}:\d{2}|\d{2}:\d{2}", text), text


def test_templates_hold_no_english():
    """The templates' own words (not the values filled in) are Chinese: no Latin letter in any."""
    tag = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
    for path in sorted((REPO / "templates_docx").glob("*/*.docx")):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                if name.startswith("word/") and name.endswith(".xml"):
                    for text in re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", archive.read(name).decode()):
                        assert not re.search(r"[A-Za-z]", tag.sub("", text)), f"{path.name} {name}: {text}"


def test_the_mapped_dictionary_cuts_as_jieba_s_own(tmp_path):
    """wordfreq.py answers jieba's FREQ lookups from a sorted file instead of the 0.8 s load: the same
    words and prefixes, so the same cuts, added words included."""
    import jieba

    from workflow.documents import wordfreq

    own = jieba.Tokenizer()
    own.initialize()
    mapped = wordfreq.tokenizer()
    for word in ("意见书", "示范校"):
        own.add_word(word)
        mapped.add_word(word)
    assert mapped.total == own.total
    for title in TITLES:
        assert mapped.lcut(title, HMM=False) == own.lcut(title, HMM=False), title
    freq = wordfreq.SortedFreq(wordfreq.sorted_dictionary(Path(jieba.__file__).parent / "dict.txt", tmp_path))
    assert freq["教育局"] == own.FREQ["教育局"] and freq["教育"] > 0
    assert "教育局" in freq and freq.get("教育局长官署") is None and "乂乂乂" not in freq
