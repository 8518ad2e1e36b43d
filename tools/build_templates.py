"""Generate the Word templates of the shipped workflows.

Over 400 lines: one small builder per shipped template (30 of them) and the command that writes
them; split per workflow, each file would import the same helpers.

Run from the repository root::

    python tools/build_templates.py [--out DIR]

For every definition in definitions/*.yaml it collects the union of the transitions' ``templates:``
lists and writes templates_docx/<workflow id>/<name>.docx (DIR/<workflow id>/<name>.docx with
``--out``; tests/test_templates.py rebuilds into a temporary folder and compares the bytes with
the committed files). A declared name without a builder is an error. The output is deterministic:
running the script twice gives byte-identical files.

Templates use docxtpl's tag syntax (jinja2). The renderer passes every item field by name plus
``item``, ``numbers``, ``event``, ``history``, ``settings``, ``params``, ``today``, ``review``
(the step that sent the item up for decision, or None) and ``decision`` (on the documents of a
decision transition: the option taken, signer, date, 批示; else None), and ``form``, with
``code`` and ``token``, when it hands out an approval form, and the filters
``cn_date``, ``cn_date_upper``, ``wan_yuan``, ``cn_list`` and ``title_lines`` (every 红头 title is
broken into lines by rule, not by the office suite); autoescape is on. Each tag sits in
a single run. Official documents (公文) follow GB/T 9704-2012 (layout in _gbt9704.py); internal
forms are in _forms.py.
"""

import argparse
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _forms as forms  # noqa: E402
from _gbt9704 import (  # noqa: E402
    CN_SET_TAG,
    HEITI,
    KAITI,
    RED,
    XBS,
    R,
    banner,
    blank,
    body,
    heading,
    new_document,
    page_borders,
    para,
    publicity_note,
    record,
    row,
    save,
    signature,
    table,
    tag,
    tag_row,
    title_block,
)

ROOT = os.path.dirname(HERE)

# "2024年3月1日至3月5日，" style period of the site visit; empty when no dates are known
VISIT = forms.VISIT_RANGE + "{% if visit_start %}，{% endif %}"


def title_lines(title):
    """A title broken into lines by rule when rendered (the title_lines filter,
    workflow/documents/titles.py: no line of one or two characters, no word cut, 梯形 or 菱形)."""
    return "{% filter title_lines %}" + title + "{% endfilter %}"


def _official(name, subject, title, main_to=None, number=None, urgency=None):
    doc = new_document(name, subject)
    banner(doc, number, urgency)
    title_block(doc, title_lines(title), main_to)
    return doc


# column widths (twips) of the small (小四) tables: a 序号 column holds "序号" in 黑体 on one line,
# a date column "2026年11月12日" (measured in LibreOffice: 8 digits of DejaVu Serif, the fallback
# of Times New Roman, 7.6 pt each, 3 × 12 pt, and 4 × 2.4 pt of space between digits and Chinese,
# which LibreOffice adds even with autoSpaceDN off: 106.6 pt, plus 2 × 2 pt cell margins)
SEQ, DATE = forms.SEQ, forms.DATE


def _small_table(doc, widths, header, centered=(0,)):
    """A 小四 table with a header row repeated on every page; ``centered``: the columns of
    numbers and dates (序号 first)."""
    t = table(doc, widths, small=True, centered=centered)
    row(t, *header, header=True)
    return t


# --- plan -----------------------------------------------------------------------------------------
def plan_notice():
    """关于印发《…》的通知, with the plan itself following on a new page."""
    doc = new_document("印发通知", "工作计划")
    tag(doc, "{%p set signed = history|selectattr('transition', 'equalto', 'approve')|list %}")
    tag(doc, CN_SET_TAG)
    banner(doc, "{{ numbers.doc_number or '' }}",
           urgency="{% if urgency in ['特急', '加急'] %}{{ urgency }}{% endif %}")
    title_block(doc, title_lines("关于印发《{{ title }}》的通知"))
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


# --- inspection -----------------------------------------------------------------------------------
def inspection_notice():
    """督导通知书: sent to the school before the site visit."""
    doc = _official("督导通知书", "督导检查", "关于对{{ school }}开展{{ kind }}的通知",
                    "{{ school }}：")
    body(doc, "根据{% if basis %}{{ basis }}{% else %}年度教育督导工作安排{% endif %}，"
              "我局决定对你校开展{{ kind }}{% if topic %}，督导事项为{{ topic }}{% endif %}。"
              "现将有关事项通知如下：")
    heading(doc, 1, "一、督导时间")
    body(doc, "{% if visit_start %}{{ visit_start|cn_date }}{% if visit_end and visit_end != "
              "visit_start %}至{{ visit_end|cn_date }}{% endif %}。{% else %}另行通知。{% endif %}")
    heading(doc, 1, "二、督导组成员")
    tag(doc, "{%p for m in team or [] %}")
    body(doc, "{{ m.role or '成员' }}：{{ m.name }}{% if m.kind %}（{{ m.kind }}）{% endif %}")
    tag(doc, "{%p endfor %}")
    heading(doc, 1, "三、督导方式")
    body(doc, "督导组将采取听取汇报、查阅资料、实地查看、随堂听课、座谈访谈、问卷调查等方式，"
              "全面了解学校办学情况。")
    heading(doc, 1, "四、有关要求")
    body(doc, "1.请你校认真组织自评，在实地督导开始前形成自评报告并报送督导组。")
    body(doc, "2.请提前准备学校发展规划、规章制度、会议记录、经费收支、教育教学等资料，"
              "按督导组要求如实提供。")
    body(doc, "3.请统筹安排汇报、座谈、听课和访谈等活动，确保正常教育教学秩序不受影响。")
    signature(doc, "{{ (notice_date or event.date)|cn_date }}")
    record(doc, "{{ (notice_date or event.date)|cn_date }}", cc=None)
    return doc


def inspection_opinion():
    """督导意见书: evaluation and rectification requirements after the visit."""
    doc = _official("督导意见书", "督导检查", "关于{{ school }}{{ kind }}的督导意见书",
                    "{{ school }}：")
    body(doc, VISIT + "{{ settings.issuer_name }}督导组对你校进行了{{ kind }}。督导组通过听取汇报、"
         "查阅资料、实地查看{% if lessons %}、随堂听课{{ lessons }}节{% endif %}{% if interviews %}"
         "、个别访谈{{ interviews }}人次{% endif %}{% if forums %}、召开座谈会{{ forums }}场"
         "{% endif %}{% if surveys %}、问卷调查{{ surveys }}份{% endif %}等方式，结合学校自评"
         "{% if self_score is not none %}（自评得分{{ self_score }}分）{% endif %}情况，"
         "对学校工作进行了全面了解。经审定，现提出督导意见如下。")
    heading(doc, 1, "一、总体评价")
    tag(doc, "{%p if overall %}")
    body(doc, "{{ overall }}")
    tag(doc, "{%p endif %}")
    body(doc, "{% if score is not none %}督导评估得分{{ score }}分。{% endif %}"
              "{% if conclusion %}督导结论：{{ conclusion }}。{% endif %}")
    heading(doc, 1, "二、存在的主要问题")
    tag(doc, "{%p for f in findings or [] %}")
    body(doc, "{{ loop.index }}.{{ f.description|trim('。') }}{% if f.location %}（{{ f.location }}）"
              "{% endif %}。")
    tag(doc, "{%p else %}")
    body(doc, "督导中未发现需要限期整改的问题。")
    tag(doc, "{%p endfor %}")
    heading(doc, 1, "三、整改要求")
    tag(doc, "{%p for f in findings or [] %}")
    body(doc, "{{ loop.index }}.{{ (f.requirement or '针对问题制定措施，整改到位')|trim('。') }}"
              "{% if f.deadline %}，整改期限至{{ f.deadline|cn_date }}{% endif %}。")
    tag(doc, "{%p endfor %}")
    body(doc, "请你校对照本意见书，研究制定整改方案，明确责任人和完成时限，逐项抓好整改落实，"
              "{% if report_due %}于{{ report_due|cn_date }}前{% else %}在规定期限内{% endif %}"
              "将整改情况书面报告我局。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, cc=None)
    return doc


def inspection_rectify():
    """整改通知书 with the table of findings; carries the notice number."""
    doc = _official("整改通知书", "督导检查", "关于{{ school }}督导问题限期整改的通知",
                    "{{ school }}：", number="{{ numbers.notice_number or '' }}")
    body(doc, VISIT + "我局对你校开展了{{ kind }}。根据督导意见，现将督导发现的问题及整改要求"
                      "通知如下，请认真组织整改。")
    heading(doc, 1, "一、问题及整改要求")
    t = _small_table(doc, [SEQ, 900, 1992, 1992, DATE, 900],
                     ["序号", "类别", "问题描述", "整改要求", "整改期限", "责任人"], (0, 4))
    tag_row(t, "{%tr for f in findings or [] %}")
    row(t, "{{ loop.index }}", "{{ f.category or '' }}",
        "{{ f.description }}{% if f.severity == '重大' %}（重大）{% endif %}",
        "{{ f.requirement or '' }}", "{{ f.deadline|cn_date if f.deadline else '' }}",
        "{{ f.person or '' }}{% if f.dept %}（{{ f.dept }}）{% endif %}")
    tag_row(t, "{%tr endfor %}")
    heading(doc, 1, "二、有关要求")
    heading(doc, 2, "（一）压实整改责任。")
    body(doc, "学校主要负责人是整改工作第一责任人，要逐项明确责任科室、责任人和完成时限，"
              "建立整改台账，整改一项、销号一项。")
    heading(doc, 2, "（二）按期报送整改报告。")
    body(doc, "请于{% if report_due %}{{ report_due|cn_date }}前{% else %}收到本通知之日起30日内"
              "{% endif %}将整改报告及佐证材料报送我局。")
    heading(doc, 2, "（三）接受复查验收。")
    body(doc, "我局将组织督学对整改情况进行复查验收。逾期未完成或整改不到位的，予以通报，"
              "并依照有关规定处理。")
    signature(doc, "{{ (notice_issued or event.date)|cn_date }}")
    record(doc, "{{ (notice_issued or event.date)|cn_date }}", cc=None)
    return doc


def inspection_recheck():
    """整改复查报告: every finding closed, the recheck opinion."""
    doc = _official("整改复查报告", "督导检查", "关于{{ school }}督导整改情况的复查报告")
    tag(doc, "{%p set closed = (findings or [])|selectattr('status', 'equalto', '已销号')|list %}")
    body(doc, "{% if notice_issued %}{{ notice_issued|cn_date }}，{% endif %}我局向{{ school }}"
              "下达整改通知{% if numbers.notice_number %}（{{ numbers.notice_number }}）{% endif %}，"
              "列明问题{{ (findings or [])|length }}项。{% if report_received %}学校于"
              "{{ report_received|cn_date }}报送了整改报告。{% endif %}"
              "{% if recheck_date %}{{ recheck_date|cn_date }}，{% endif %}"
              "督学对整改情况进行了复查，现将有关情况报告如下。")
    heading(doc, 1, "一、整改完成情况")
    body(doc, "督导发现的{{ (findings or [])|length }}项问题中，已销号{{ closed|length }}项。"
              "逐项情况如下：")
    t = _small_table(doc, [SEQ, 1664, DATE, 900, DATE, 920],
                     ["序号", "问题描述", "整改期限", "状态", "销号日期", "验收人"], (0, 2, 3, 4))
    tag_row(t, "{%tr for f in findings or [] %}")
    row(t, "{{ loop.index }}", "{{ f.description }}",
        "{{ f.deadline|cn_date if f.deadline else '' }}",
        "{{ f.status or '' }}", "{{ f.closed_on|cn_date if f.closed_on else '' }}",
        "{{ f.verifier or '' }}")
    tag_row(t, "{%tr endfor %}")
    heading(doc, 1, "二、复查意见")
    body(doc, "{{ recheck_opinion or '' }}")
    body(doc, "特此报告。")
    signature(doc, "{{ (recheck_date or event.date)|cn_date }}")
    record(doc, cc=None)
    return doc


def inspection_reminder():
    """催办通知: `gongwen tick` renders it when the 整改 deadline passes (issue 14, 督办)."""
    doc = _official("催办通知", "督导检查", "关于督促{{ school }}按期报送整改报告的通知", "{{ school }}：")
    body(doc, "我局{% if notice_issued %}于{{ notice_issued|cn_date }}{% endif %}向你校下达了整改通知"
              "{% if numbers.notice_number %}（{{ numbers.notice_number }}）{% endif %}，要求你校于"
              "{{ deadline.due|cn_date }}前完成{{ deadline.title }}。截至{{ event.date|cn_date }}，"
              "我局尚未收到，现予催办。")
    body(doc, "请你校接到本通知后抓紧落实整改，尽快报送整改报告及佐证材料。"
              "{% if deadline.escalate_after %}逾期{{ deadline.escalate_after }}仍未报送的，"
              "将报{{ deadline.escalate_to }}督办。{% endif %}")
    body(doc, "特此通知。")     # a one-line closing: the signature's keep-with-next chain stays short
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, cc=None)
    return doc


# --- clean_school ---------------------------------------------------------------------------------
TIER = "{{ batch }}年度{{ level or '' }}清廉学校{{ tier }}"


def clean_publicity():
    """公示公告 for the school proposed for naming."""
    doc = _official("公示公告", "清廉学校认定", "关于" + TIER + "拟认定对象的公示")
    body(doc, "根据清廉学校建设工作安排，经学校自评申报、县级初审推荐、实地评估和审定，拟认定"
              "{{ school }}为" + TIER + "，现予以公示。")
    t = _small_table(doc, [3444, 1600, 1900, 1900], ["学校名称", "学段", "申报类型", "评估得分"],
                     (1, 3))
    row(t, "{{ school }}", "{{ stage or '' }}", "{{ tier }}",
        "{{ city_score if city_score is not none else '' }}")
    blank(doc)
    body(doc, "公示时间：{% if publicity_start %}{{ publicity_start|cn_date }}至"
              "{{ publicity_end|cn_date if publicity_end else '' }}{% endif %}"
              "（{{ params.publicity_days }}个工作日）。")
    body(doc, "公示期间，对公示对象有异议的，可以书面形式向我局反映。反映情况应当实事求是，"
              "并提供具体线索或佐证材料；以个人名义反映的请署真实姓名并留联系方式，"
              "以单位名义反映的请加盖单位公章。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, cc=None)
    return doc


def clean_publicity_over():
    """公示结果: the 公示 period is over (a timer of `gongwen tick`), the school awaits naming."""
    doc = _official("公示结果", "清廉学校认定", "关于" + TIER + "拟认定对象公示结果的说明")
    body(doc, "{{ school }}" + TIER + "拟认定对象公示{% if publicity_start %}自{{ publicity_start|cn_date }}"
              "起{% endif %}，{{ event.comment }}，公示期满。{% if objection %}公示期间收到的异议（"
              "{{ objection }}）经核查不成立。{% else %}公示期间未收到异议。{% endif %}")
    body(doc, "现提请办理命名授牌。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, cc=None)
    return doc


def clean_refusal():
    """不予认定通知 to the applying school."""
    doc = _official("不予认定通知", "清廉学校认定", "关于{{ school }}清廉学校认定结果的通知",
                    "{{ school }}：")
    body(doc, "你校申报" + TIER + "，经县级初审推荐和{% if city_date %}{{ city_date|cn_date }}"
              "{% endif %}实地评估{% if city_score is not none %}（评估得分{{ city_score }}分）"
              "{% endif %}，经研究，决定不予认定。")
    body(doc, "主要原因：{{ event.comment or '' }}")
    tag(doc, "{%p if city_opinion %}")
    body(doc, "评估组意见：{{ city_opinion }}")
    tag(doc, "{%p endif %}")
    body(doc, "希望你校对照清廉学校建设标准，认真查找差距，完善制度机制，持续推进清廉学校建设，"
              "符合条件后可在以后批次重新申报。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, cc=None)
    return doc


def clean_revocation():
    """撤销决定: the title is revoked (一票否决 or failed re-assessment)."""
    doc = _official("撤销决定", "清廉学校认定",
                    "关于撤销{{ school }}“清廉学校{{ tier }}”命名的决定", "{{ school }}：")
    body(doc, "{{ school }}{% if naming_date %}于{{ naming_date|cn_date }}{% endif %}被认定为"
              "{{ level or '' }}清廉学校{{ tier }}{% if naming_doc %}（{{ naming_doc }}）{% endif %}。"
              "经查，{{ (revoke_reason or '')|trim('。') }}。")
    tag(doc, "{%p if event.comment and event.comment != revoke_reason %}")
    body(doc, "{{ event.comment }}")
    tag(doc, "{%p endif %}")
    body(doc, "根据清廉学校动态管理和一票否决有关规定，经研究，决定撤销你校“清廉学校{{ tier }}”"
              "命名，收回证书{% if numbers.certificate_number %}（编号{{ numbers.certificate_number }}）"
              "{% endif %}和标牌。")
    body(doc, "望你校深刻汲取教训，认真整改，切实加强党风廉政建设和师德师风建设。")
    signature(doc, "{{ event.date|cn_date }}")
    record(doc, cc=None)
    return doc


def clean_certificate():
    """认定证书: landscape certificate with a double border, no page number."""
    doc = new_document("认定证书", "清廉学校认定", landscape=True, page_numbers=None,
                       margins={"top": 1700, "bottom": 1500, "left": 1900, "right": 1900})
    page_borders(doc)
    center = dict(jc="center")
    para(doc, R("清廉学校", XBS, 54, RED), style="GW Title", line=1500, before=300, **center)
    para(doc, R("{{ level or '' }}{{ tier }}", XBS, 26, RED), style="GW Title", line=800,
         after=300, **center)
    para(doc, R("{{ school }}", KAITI, 28), style="GW Title", line=900, after=200, **center)
    para(doc, R("经学校申报、县级初审、实地评估和社会公示，被认定为" + TIER + "，"
                "有效期{{ valid_years or 3 }}年。特发此证。", KAITI, 18),
         style="GW Body", line=700, first_chars=200, jc="both")
    blank(doc)
    para(doc, R("{{ settings.issuer_name }}", None, 18), style="GW Signature", line=700,
         right=900, jc="right")
    para(doc, R("{{ (naming_date or event.date)|cn_date_upper }}", None, 18),
         style="GW Signature", line=700, right=900, jc="right")
    para(doc, R("证书编号：{{ numbers.certificate_number or '' }}", None, 12),
         style="GW Body", line=400, before=300)
    return doc


# --- registry -------------------------------------------------------------------------------------
BUILDERS = {
    "plan": {
        "印发通知.docx": plan_notice,
        "发文稿纸.docx": forms.plan_draft_sheet,
        "会签单.docx": forms.countersign_sheet,
        "不予签发意见.docx": lambda: forms.refusal("plan"),
    },
    "inspection": {
        "督导通知书.docx": inspection_notice,
        "督导意见书.docx": inspection_opinion,
        "整改通知书.docx": inspection_rectify,
        "整改复查报告.docx": inspection_recheck,
        "催办通知.docx": inspection_reminder,
        "实地督导安排.docx": forms.visit_plan,
        "督导报告.docx": forms.inspection_report,
        "销号登记表.docx": forms.closing_register,
        "审批表.docx": lambda: forms.approval_sheet("inspection"),
        "不予审定意见.docx": lambda: forms.refusal("inspection"),
    },
    "clean_school": {
        "公示公告.docx": clean_publicity,
        "公示结果.docx": clean_publicity_over,
        "不予认定通知.docx": clean_refusal,
        "撤销决定.docx": clean_revocation,
        "认定证书.docx": clean_certificate,
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
    declared = declared_templates(os.path.join(ROOT, "definitions"))
    jobs = [(wf, name, builder_for(wf, name)) for wf, names in declared.items() for name in names]
    for workflow, name, build in jobs:
        out_dir = os.path.join(out, workflow)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, name)
        save(build(), path)
        print("%s/%s  %d bytes" % (workflow, name, os.path.getsize(path)))
    for workflow in declared:
        present = set(f for f in os.listdir(os.path.join(out, workflow)) if f.endswith(".docx"))
        extra = sorted(present - set(declared[workflow]))
        if extra:
            print("warning: %s has undeclared templates: %s" % (workflow, ", ".join(extra)))


if __name__ == "__main__":
    main()
