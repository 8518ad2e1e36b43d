"""LibreOffice converts every shipped template, rendered with its sample context, to a PDF (one
soffice call for all of them); the Chinese text survives and the 版记 sits at the foot of the last
page (pdftotext, when poppler-utils is installed); without soffice, convert_to_pdf refuses with one
line. CI installs LibreOffice.

Fonts (workflow/documents/fonts.py, issue 15): pdffonts shows no Japanese face in any PDF, and
pdftohtml's runs show the mapping — 标志, titles and form titles (小标宋) in Noto Serif CJK SC Bold,
body text (仿宋) in Noto Serif CJK SC, 一、 headings (黑体) in Noto Sans CJK SC Bold, 楷体 in a Kai face."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from workflow.documents import fonts, office
from workflow.documents.renderer import render
from workflow.errors import BadInput

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = ("plan", "inspection", "clean_school")


def sample_context(workflow_id: str) -> dict:
    spec = importlib.util.spec_from_file_location("gongwen_sample_context",
                                                  REPO / "tools" / "sample_context.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sample_context(workflow_id)


def pdf_text(pdf: Path) -> str:
    done = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, timeout=60, check=True)
    return done.stdout.decode("utf-8")


def last_page_lines(pdf: Path) -> tuple[int, float, list[tuple[float, str]]]:
    """(pages, page height in pt, [(yMax, text)] of the last page's lines) from pdftotext -bbox-layout."""
    done = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, timeout=60, check=True)
    pages = re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', done.stdout.decode("utf-8"), re.S)
    lines = [(float(y_max), "".join(re.findall(r">([^<]*)</word>", words))) for y_max, words in
             re.findall(r'<line xMin="[\d.]+" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">(.*?)</line>',
                        pages[-1][1], re.S)]
    return len(pages), float(pages[-1][0]), lines


JAPANESE = re.compile(r"jp|japan|-ja\b|gothic|mincho", re.I)
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
HEADING = re.compile(r"^[一二三四五六七八九十]+、")
SERIF, SERIF_BOLD, SANS_BOLD = "NotoSerifCJKsc-Regular", "NotoSerifCJKsc-Bold", "NotoSansCJKsc-Bold"
KAI = ("GBZenKai", "UKaiCN")  # AR PL KaitiM GB (fonts-arphic-gkai00mp), AR PL UKai CN


def pdf_fonts(pdf: Path) -> list[str]:
    """The embedded fonts' names as pdffonts lists them (with the subset prefix, ABCDEF+)."""
    done = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, timeout=60, check=True)
    return [line.split()[0] for line in done.stdout.splitlines()[2:] if line.strip()]


def pdf_runs(pdf: Path) -> list[tuple[str, str, int, str, bool]]:
    """(text, face, size, colour, bold) of each text run: pdftohtml -xml's fontspecs name the face by
    its subset prefix only, so the face is pdffonts' name for that prefix, without prefix and suffix
    (BAAAAA+NotoSerifCJKsc-Bold-VKana -> NotoSerifCJKsc-Bold)."""
    names = {name.split("+")[0]: name.split("+", 1)[-1] for name in pdf_fonts(pdf)}
    done = subprocess.run(["pdftohtml", "-xml", "-i", "-stdout", str(pdf)], capture_output=True, timeout=60,
                          check=True)
    xml = done.stdout.decode("utf-8")
    specs = {fid: (names[family.split("+")[0]], int(size), color) for fid, size, family, color in re.findall(
        r'<fontspec id="(\d+)" size="(\d+)" family="([^"]+)" color="([^"]+)"/>', xml)}
    runs = []
    for fid, body in re.findall(r'<text [^>]*font="(\d+)">(.*?)</text>', xml):
        face, size, color = specs[fid]
        face = re.sub(r"-(VKana|Ideographs|Proportional\w*|Alphabetic\w*|HWidth\w*|Generic|Dingbats)$", "", face)
        runs.append((html.unescape(re.sub(r"<[^>]+>", "", body)), face, size, color, "<b>" in body))
    return runs


def test_every_template_converts_to_pdf(tmp_path):
    if office.find_soffice() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have LibreOffice: .ci/run installs libreoffice-writer-nogui")
        print("skipped: LibreOffice (soffice) is not installed; CI installs libreoffice-writer-nogui")
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer")
    rendered = tmp_path / "docx"
    rendered.mkdir()
    files = []
    for workflow in WORKFLOWS:
        context = sample_context(workflow)
        templates = sorted((REPO / "templates_docx" / workflow).glob("*.docx"))
        assert templates, workflow
        for template in templates:
            path = rendered / f"{workflow}-{template.stem}.docx"  # stems repeat across workflows
            path.write_bytes(render(template, context))
            files.append(path)
    assert len(files) >= 29

    pdfs = office.convert_to_pdf(files, tmp_path / "pdf")  # one soffice call for all of them

    assert [p.stem for p in pdfs] == [f.stem for f in files]
    for pdf in pdfs:
        data = pdf.read_bytes()
        assert len(data) > 1000 and data.startswith(b"%PDF"), pdf.name

    if shutil.which("pdffonts"):  # issue 15: no document of any workflow embeds a Japanese face
        japanese = {pdf.name: name for pdf in pdfs for name in pdf_fonts(pdf) if JAPANESE.search(name)}
        assert not japanese, japanese
    else:
        print("not checked: the embedded fonts (pdffonts from poppler-utils is not installed)")

    if shutil.which("pdftotext") is None:
        print("not checked: the Chinese text in the PDF (pdftotext from poppler-utils is not installed)")
        return
    notice = pdf_text(tmp_path / "pdf" / "plan-印发通知.pdf")
    flat = "".join(notice.split())  # the layout may space or wrap characters
    assert "某某县教育局" in flat
    assert sample_context("plan")["numbers"]["doc_number"] in flat  # 某教发〔2024〕12号

    # GB/T 9704: the 版记 sits at the foot of the last page, its 印发 line the last of the type area
    with_record = [pdf for pdf, source in zip(pdfs, files)
                   if b'w:tblpYSpec="bottom"' in zipfile.ZipFile(source).read("word/document.xml")]
    assert len(with_record) >= 5  # the 文件 documents (a 信函 has no 印发 版记, a 公告 none)
    for pdf in with_record:
        pages, height, lines = last_page_lines(pdf)
        bottom = height - 1984 / 20  # the type area ends 35 mm above the page's bottom edge
        printed = [y_max for y_max, text in lines if text.endswith("印发")]
        assert printed, (pdf.name, lines[-3:])
        assert bottom - 28.9 < printed[-1] <= bottom + 1, (pdf.name, pages, printed[-1], bottom)


def test_convert_to_pdf_without_soffice_is_one_line(tmp_path, monkeypatch):
    source = tmp_path / "a.docx"
    source.write_bytes(render(REPO / "templates_docx" / "plan" / "撤回说明.docx", sample_context("plan")))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(office, "_KNOWN", ())
    assert office.find_soffice() is None
    with pytest.raises(BadInput) as raised:
        office.convert_to_pdf([source], tmp_path / "out")
    message = raised.value.message
    assert message == ("--pdf needs LibreOffice (soffice), which is not installed: "
                       "apt-get install libreoffice-writer")
    assert "\n" not in message and not (tmp_path / "out").exists()


def test_the_signature_never_stands_alone_on_a_page(tmp_path):
    """GB/T 9704 allows no 孤章: the 署名 and 成文日期 never open a page with no text above them.
    The notice's last paragraph grows a line at a time (0 to 18 lines: it ends the text at the
    foot of page 1, then on each line of page 2 where it and the signature fit on one page); the
    signature must take the text's end along. (A last paragraph longer than that is split by Word,
    which keeps its last lines with the signature; LibreOffice moves a paragraph whole.)"""
    if office.find_soffice() is None or shutil.which("pdftotext") is None:
        print("skipped: needs LibreOffice and pdftotext (CI installs both)")
        pytest.skip("LibreOffice or pdftotext is not installed")
    files = []
    for lines in range(19):
        context = sample_context("plan")
        context.update(department="教育" * 14 * lines + "办公室", drafter_phone="0571-12345678")
        path = tmp_path / f"notice-{lines:02d}.docx"
        path.write_bytes(render(REPO / "templates_docx" / "plan" / "印发通知.docx", context))
        files.append(path)
    alone = []
    for pdf in office.convert_to_pdf(files, tmp_path / "pdf"):
        for page in pdf_text(pdf).split("\f"):
            text = [line.strip() for line in page.splitlines() if line.strip()]
            if "某某县教育局" in text and text.index("某某县教育局") == 0:
                alone.append(pdf.stem)
    assert not alone, alone


def test_fontconfig_file_offers_only_simplified_chinese_faces():
    """The fontconfig file soffice gets: the SC faces as files of their own whose names say sc, the
    Noto CJK collections (face 0 = JP) hidden, and the 公文 names mapped with their weights."""
    if shutil.which("fc-list") is None or not fonts._fc_list(fonts.SERIF):
        if os.environ.get("CI"):
            pytest.fail("CI must have fonts-noto-cjk (and fontconfig): .ci/run installs it")
        print("skipped: Noto CJK SC (fonts-noto-cjk) is not installed")
        pytest.skip("fonts-noto-cjk is not installed")
    config = fonts.fontconfig_file()
    assert config is not None and config.is_file()
    env = {**os.environ, "FONTCONFIG_FILE": str(config)}

    def fc(*args: str) -> str:
        return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=True).stdout

    listed = fc("fc-list", "-f", "%{family[0]}|%{postscriptname}|%{file}\n", ":lang=zh-cn").splitlines()
    noto = [line for line in listed if "CJK" in line]
    assert noto and not [line for line in noto if JAPANESE.search(line) or ".ttc" in line], noto
    assert {line.split("|")[1] for line in noto} == {SERIF, SERIF_BOLD, "NotoSansCJKsc-Regular", SANS_BOLD}
    extracted_fonts = sorted((config.parent / "fonts").glob("*.otf"))
    assert len(extracted_fonts) == 4, extracted_fonts
    for extracted in extracted_fonts:  # the CFF's own name (what a PDF embeds) says sc
        start = extracted.read_bytes()[:200_000]  # BASE, then the CFF with its Name and String INDEX
        assert b"CJKsc-" in start and b"CJKjp" not in start, extracted.name
        assert fc("fc-query", "-f", "%{family[0]}", str(extracted)).endswith("CJK SC")
    expected = {"仿宋_GB2312": "Noto Serif CJK SC|Regular", "宋体": "Noto Serif CJK SC|Regular",
                "方正小标宋简体": "Noto Serif CJK SC|Bold", "黑体": "Noto Sans CJK SC|Bold",
                "Noto Serif CJK JP": "Noto Serif CJK SC|Regular"}  # the JP face is not there to be had
    for name, face in expected.items():
        assert fc("fc-match", "-f", "%{family[0]}|%{style[0]}", f"{name}:lang=zh-cn") == face, name


def test_pdf_faces_follow_the_gongwen_fonts(tmp_path):
    """Red-header notices and a form in one soffice call: no Japanese face, and the 公文 fonts land
    on the right faces, so a regression of the mapping fails here."""
    if office.find_soffice() is None or shutil.which("pdftohtml") is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have LibreOffice and poppler-utils: .ci/run installs both")
        print("skipped: needs LibreOffice and poppler-utils (CI installs both)")
        pytest.skip("LibreOffice or poppler-utils is not installed")
    chosen = [("plan", "印发通知"), ("inspection", "督导通知书"), ("inspection", "整改通知书"),
              ("clean_school", "公示公告"), ("plan", "发文稿纸")]
    files = []
    for workflow, stem in chosen:
        path = tmp_path / f"{workflow}-{stem}.docx"
        path.write_bytes(render(REPO / "templates_docx" / workflow / f"{stem}.docx", sample_context(workflow)))
        files.append(path)
    pdfs = office.convert_to_pdf(files, tmp_path / "pdf")

    headings, kai, marks = 0, 0, 0
    for pdf in pdfs:
        names = pdf_fonts(pdf)
        assert not [name for name in names if JAPANESE.search(name)], (pdf.name, names)
        runs = pdf_runs(pdf)
        cjk = [run for run in runs if CJK.search(run[0])]
        assert cjk, pdf.name
        # no Chinese text falls back to a Latin face
        assert not [run for run in cjk if not run[1].startswith((SERIF, SERIF_BOLD, SANS_BOLD, *KAI))], pdf.name
        titles = [run for run in runs if run[2] == 33]  # 2号 (22 pt) at pdftohtml's 1.5 zoom: the title
        assert titles and {run[1] for run in titles} == {SERIF_BOLD}, (pdf.name, titles)
        red = [run for run in cjk if run[3].lower() == "#ff0000"]  # the red 标志 (…文件 / the issuer)
        assert {run[1] for run in red} <= {SERIF_BOLD}, (pdf.name, red)
        marks += len(red)
        if "稿纸" not in pdf.name:
            body = [run for run in cjk if run[2] == 24 and not HEADING.match(run[0]) and run not in red
                    and run[1] != SANS_BOLD and not run[1].startswith(KAI)]  # 3号仿宋
            assert len(body) >= 3 and {run[1] for run in body} == {SERIF}, (pdf.name, body[:5])
        first_level = [run for run in cjk if HEADING.match(run[0])]
        assert {run[1] for run in first_level} <= {SANS_BOLD}, (pdf.name, first_level)
        headings += len(first_level)
        kai += sum(run[1].startswith(KAI) for run in cjk)
    assert headings >= 3 and marks >= 3
    installed = any(fonts._fc_list(family) for family in fonts.KAI)
    if os.environ.get("CI"):
        assert installed, "CI must have a 楷体 face: .ci/run installs fonts-arphic-gkai00mp"
    if installed:
        assert kai >= 1  # （一） headings and the like in 楷体
    else:
        print("not checked: 楷体 (no Kai face is installed; apt-get install fonts-arphic-gkai00mp)")
