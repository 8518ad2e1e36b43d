"""Generate the Word templates of the shipped workflows.

The builders: the plan's 印发通知 here, the other official documents in _inspection_docs.py and
_clean_docs.py, the internal forms in _forms.py and _forms_extra.py.

Run from the repository root::

    python tools/build_templates.py [--out DIR]

It writes every template of the registry (BUILDERS, plus the SHARED forms of every workflow) to
templates_docx/<workflow id>/<name>.docx (DIR/<workflow id>/<name>.docx with ``--out``;
tests/test_templates.py rebuilds into a temporary folder and compares the bytes with the committed
files) and removes the .docx files of that folder no builder makes. It then compares the registry
with the definitions (definitions/*.yaml: the transitions' ``templates:`` lists, the deadlines'
notices, the countersign forms): a template no definition declares is a warning, a declared name
without a builder an error (exit status 1). The output is deterministic: running the script twice
gives byte-identical files.

Templates use docxtpl's tag syntax (jinja2). The renderer passes every item field by name plus
``item``, ``numbers``, ``event``, ``history``, ``settings``, ``params``, ``today``, ``review``
(the step that sent the item up for decision, or None) and ``decision`` (on the documents of a
decision transition: the option taken, signer, date, 批示; else None), and ``form``, with
``code`` and ``token``, when it hands out an approval form, and the filters
``cn_date``, ``cn_date_upper``, ``wan_yuan``, ``cn_list`` and ``title_lines`` (every 红头 title is
broken into lines by rule, not by the office suite); autoescape is on. Each tag sits in
a single run. ``settings.issuer_name`` / ``settings.issuer_code`` are the issuer of the step that
renders the document (its ``issuer:`` in the definition, else the workspace's own), so a template
names its own issuer with them; ``settings.issuers.<id>.name`` names another (the county's 推荐文件
is addressed to ``settings.issuers.city.name``). Official documents (公文) follow GB/T 9704-2012
(page in _gbt9704.py; 版头 of the 文件, 信函 and 公告 formats, signature block and 版记 in
_letter.py) and carry the custom document property ``gongwen_format`` (文件 / 信函 / 公告).
"""

import argparse
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _clean_docs  # noqa: E402
import _forms as forms  # noqa: E402
import _forms_extra  # noqa: E402
import _inspection_docs  # noqa: E402
from _gbt9704 import (  # noqa: E402
    CN_SET_TAG,
    HEITI,
    KAITI,
    XBS,
    R,
    blank,
    heading,
    new_document,
    para,
    row,
    tag,
    tag_row,
)
from _letter import FILE_GAP, banner, body, publicity_note, record, signature, title_block, title_lines  # noqa: E402
from _save import save  # noqa: E402

ROOT = os.path.dirname(HERE)

# column widths (twips) of the small (小四) tables: a 序号 column holds "序号" in 黑体 on one line,
# a date column "2026年11月12日" (measured in LibreOffice: 8 digits of DejaVu Serif, the fallback
# of Times New Roman, 7.6 pt each, 3 × 12 pt, and 4 × 2.4 pt of space between digits and Chinese,
# which LibreOffice adds even with autoSpaceDN off: 106.6 pt, plus 2 × 2 pt cell margins)
SEQ, DATE = forms.SEQ, forms.DATE


_small_table = _inspection_docs.small_table


# --- plan -----------------------------------------------------------------------------------------
def plan_notice():
    """关于印发《…》的通知, with the plan itself following on a new page."""
    doc = new_document("印发通知", "工作计划")
    tag(doc, "{%p set signed = history|selectattr('transition', 'equalto', 'approve')|list %}")
    tag(doc, CN_SET_TAG)
    banner(doc, "{{ numbers.doc_number or '' }}",
           urgency="{% if urgency in ['特急', '加急'] %}{{ urgency }}{% endif %}")
    title_block(doc, title_lines("关于印发《{{ title }}》的通知"), first_blank=FILE_GAP)
    tag(doc, "{%p if main_to %}")
    para(doc, "{{ main_to }}：", style="GW Main To")
    tag(doc, "{%p endif %}")
    body(doc, "现将《{{ title }}》印发给你们，请结合工作实际，认真抓好贯彻落实。")
    tag(doc, "{%p if drafter_phone %}")
    body(doc, "联系人：{{ contact or item.creator_name }}（{{ department }}），联系电话：{{ drafter_phone }}。")
    tag(doc, "{%p endif %}")
    signature(doc, "{{ (signed[-1].date if signed else event.date)|cn_date }}")
    publicity_note(doc)

    # the plan: new page, title, 总体要求, one 一、 heading per section
    para(doc, R(title_lines("{{ title }}"), XBS), style="GW Title", page_break=True, line=578, jc="center")
    blank(doc)
    tag(doc, "{%p if summary %}")
    body(doc, "{{ summary }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p for s in sections or [] %}")
    heading(doc, 1, "{{ cn[loop.index0] }}、{{ s.heading }}")
    body(doc, "{{ s.content }}")
    tag(doc, "{%p if s.target %}")
    body(doc, R("工作目标：", KAITI), "{{ s.target }}")
    tag(doc, "{%p endif %}")
    tag(doc, "{%p endfor %}")
    blank(doc)
    para(doc, R("重点任务责任分工", HEITI), style="GW Caption", jc="center")
    t = _small_table(doc, [SEQ, 2044, 1300, 1300, 1140, DATE],
                     ["序号", "重点任务", "牵头科室", "配合科室", "分管领导", "完成时限"], (0, 5))
    tag_row(t, "{%tr for s in sections or [] %}")
    row(t, "{{ loop.index }}", "{{ s.heading }}", "{{ s.lead_dept or '' }}",
        "{{ s.partner_dept or '' }}", "{{ s.leader or '' }}",
        "{{ s.due|cn_date if s.due else '' }}")
    tag_row(t, "{%tr endfor %}")
    record(doc, "{{ (issue_date or event.date)|cn_date }}", cc="cc")
    return doc


# --- registry -------------------------------------------------------------------------------------
BUILDERS = {
    "plan": {
        "印发通知.docx": plan_notice,
        "发文稿纸.docx": forms.plan_draft_sheet,
        "会签单.docx": forms.countersign_sheet,
        "不予签发意见.docx": lambda: forms.refusal("plan"),
        **_forms_extra.BUILDERS["plan"],
    },
    "inspection": {
        **_inspection_docs.BUILDERS,
        **_forms_extra.BUILDERS["inspection"],
        "审批表.docx": lambda: forms.approval_sheet("inspection"),
        "不予审定意见.docx": lambda: forms.refusal("inspection"),
    },
    "clean_school": {
        **_clean_docs.BUILDERS,
        "申报表.docx": forms.application,
        "初审推荐表.docx": forms.county_recommendation,
        "审批表.docx": lambda: forms.approval_sheet("clean_school"),
        "异议处理意见.docx": forms.objection,
        "复核意见.docx": forms.recheck,
    },
}
# forms every workflow shares (the builder takes the workflow id)
SHARED = {
    "修改记录.docx": forms.edit_record,
    "撤回说明.docx": forms.withdrawal,
    "退回意见.docx": forms.return_opinion,
}


def declared_templates(definitions_dir):
    """{workflow id: sorted template names} from every transition's ``templates:`` list."""
    result = {}
    for fname in sorted(os.listdir(definitions_dir)):
        if not fname.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(definitions_dir, fname), encoding="utf-8") as fh:
            definition = yaml.safe_load(fh)
        names = set()
        for transition in (definition.get("transitions") or {}).values():
            names.update((transition or {}).get("templates") or [])
        for deadline in (definition.get("deadlines") or {}).values():  # 催办通知 of `gongwen tick`
            names.update([deadline["notice"]] if (deadline or {}).get("notice") else [])
        for state in (definition.get("states") or {}).values():  # 会签单: a state's countersign form
            form = ((state or {}).get("countersign") or {}).get("form")
            names.update([form] if form else [])
        result[definition["id"]] = sorted(names)
    return result


def built_templates():
    """{workflow id: sorted template names} of the registry: BUILDERS plus the SHARED forms."""
    return {wf: sorted(set(names) | set(SHARED)) for wf, names in BUILDERS.items()}


def builder_for(workflow, name):
    if name in BUILDERS.get(workflow, {}):
        return BUILDERS[workflow][name]
    if name in SHARED:
        return lambda: SHARED[name](workflow)
    raise SystemExit("build_templates: no builder for template %r of workflow %r"
                     % (name, workflow))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Generate the Word templates of the shipped workflows.")
    parser.add_argument("--out", default=os.path.join(ROOT, "templates_docx"),
                        help="folder that gets one subfolder per workflow (default: templates_docx/)")
    out = parser.parse_args(argv).out
    built = built_templates()
    for workflow, names in built.items():
        out_dir = os.path.join(out, workflow)
        os.makedirs(out_dir, exist_ok=True)
        for name in names:
            path = os.path.join(out_dir, name)
            save(builder_for(workflow, name)(), path)
            print("%s/%s  %d bytes" % (workflow, name, os.path.getsize(path)))
        for stale in sorted(set(f for f in os.listdir(out_dir) if f.endswith(".docx")) - set(names)):
            os.remove(os.path.join(out_dir, stale))
            print("%s/%s  removed (no builder)" % (workflow, stale))
    declared = declared_templates(os.path.join(ROOT, "definitions"))
    missing = sorted("%s/%s" % (wf, n) for wf, names in declared.items() for n in names
                     if n not in built.get(wf, ()))
    unused = sorted("%s/%s" % (wf, n) for wf, names in built.items() for n in names
                    if n not in declared.get(wf, ()))
    if unused:
        print("warning: templates no definition declares: %s" % ", ".join(unused))
    if missing:
        raise SystemExit("build_templates: definitions declare templates without a builder: %s"
                         % ", ".join(missing))


if __name__ == "__main__":
    main()
