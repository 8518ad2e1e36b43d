"""Internal forms (稿纸, 审批表, 登记表 …) of the gongwen workflows (the inspection's in _forms_extra.py).

Every form starts with a title line (issuer + form name) and the item key, then Word tables whose
label cells hold exactly the label text, with the value in the next cell, so a returned form can
be read back by label. Earlier opinions come from ``history``; the current step from ``event``;
the step that sent the item up for decision (核稿, 审核, 初审) from ``review``; and, on the copy
filed with a decision (签发, 审定), the decision read from the returned form from ``decision``.
"""

from _gbt9704 import (
    CHECK_FONT,
    GREY,
    HEITI,
    STYLES,
    XBS,
    Cell,
    Check,
    R,
    blank,
    fields,
    new_document,
    para,
    row,
    table,
    tag,
    tag_row,
)
from _save import custom_property

FORM = [1600, 2822, 1600, 2822]                 # label, value, label, value = type area width
LANDSCAPE_MARGINS = {"top": 1588, "bottom": 1588, "left": 1440, "right": 1440}
FORM_WIDE = [2000, 4979, 2000, 4979]            # the same on landscape A4

ACTOR = "{{ event.actor_name }}{% if event.actor_title %}（{{ event.actor_title }}）{% endif %}"
TODAY = "{{ event.date|cn_date }}"
VISIT_RANGE = ("{% if visit_start %}{{ visit_start|cn_date }}{% if visit_end and visit_end != "
               "visit_start %}至{{ visit_end|cn_date }}{% endif %}{% endif %}")
TEAM_INLINE = ("{% for m in team or [] %}{{ m.name }}（{{ m.role or '成员' }}）"
               "{% if not loop.last %}、{% endif %}{% endfor %}")
LEADER = "{% for m in team or [] if m.role == '组长' %}{{ m.name }}{% endfor %}"
SELF_TOTAL = "{{ (self_scores or [])|map(attribute='score')|select|map('float')|sum|round(1) }}"
REVIEWER = "{{ review.actor_name if review else '' }}"
REVIEW_DATE = "{{ review.date|cn_date if review else '' }}"


def date(field):
    return "{{ %s|cn_date if %s else '' }}" % (field, field)


def num(field):
    return "{{ %s if %s is not none else '' }}" % (field, field)


def text(field):
    return "{{ %s or '' }}" % field


# a few rows that identify the item in the shared forms
SUMMARY = {
    "plan": [
        [("标题", "{{ title or '' }}")],
        [("文种", text("kind")), ("年度", "{{ year or '' }}")],
        [("主办科室", "{{ department or '' }}"), ("拟稿人", "{{ item.creator_name }}")],
    ],
    "inspection": [
        [("被督导学校", "{{ school or '' }}")],
        [("督导类型", "{{ kind or '' }}"), ("学段", text("stage"))],
        [("督导事项", text("topic"))],
        [("实地督导时间", VISIT_RANGE)],
    ],
    "clean_school": [
        [("学校名称", "{{ school or '' }}")],
        [("学段", text("stage")), ("认定级别", text("level"))],
        [("申报类型", "{{ tier or '' }}"), ("批次（年度）", "{{ batch or '' }}")],
    ],
}


# --- building blocks ------------------------------------------------------------------------------
def form_doc(name, subject, title=None, landscape=False):
    """A form page: title line (issuer + form name) and the item key."""
    doc = new_document(name, subject, landscape=landscape, page_numbers="center",
                       margins=LANDSCAPE_MARGINS if landscape else None)
    para(doc, R("{{ settings.issuer_name }}" + (title or name), XBS), style="GW Form Title")
    para(doc, "编号：{{ item.key }}　　当前状态：{{ item.state_title }}", style="GW Form Meta")
    return doc


def caption(doc, text_):
    para(doc, R(text_, HEITI, 14), style="GW Caption")


def summary(t, workflow):
    for pairs in SUMMARY[workflow]:
        fields(t, *pairs)


DECISIONS = ("同意", "不同意", "退回修改")


def decision_options():
    """☐同意　☐不同意　☐退回修改, each ☐ a checkbox content control tagged gw-decision-<option>."""
    pieces = []
    for i, option in enumerate(DECISIONS):
        pieces += [Check("gw-decision-" + option),
                   option + ("　" if i < len(DECISIONS) - 1 else "")]
    return tuple(pieces)


def decision_marks():
    """☑同意　☐不同意　☐退回修改 as plain text, ☑ on the option ``decision`` took."""
    pieces = []
    for i, option in enumerate(DECISIONS):
        pieces += [R("{{ '☑' if decision.option == '%s' else '☐' }}" % option, CHECK_FONT),
                   option + ("　" if i < len(DECISIONS) - 1 else "")]
    return tuple(pieces)


def approval_rows(t, decision="审批意见", signer="签批人", date_label="日期"):
    """The decision block read back from a returned form: the options (checkboxes), the opinion
    box (room for about three handwritten lines), the signer and the date, empty on the form
    handed out; on the copy filed with the decision, what the form said: the option taken ticked
    (☑, the others ☐), the 批示, the signer's name and the date."""
    fields(t, (decision, ["{%p if decision %}", decision_marks(), "{%p else %}", decision_options(),
                          "{%p endif %}"]))
    fields(t, ("领导批示", "{{ decision.opinion if decision else '' }}"), height=1800)
    fields(t, (signer, "{{ decision.signer_name if decision else '' }}"),
           (date_label, "{{ decision.date|cn_date if decision else '' }}"))


def form_footer(doc, decision="审批意见"):
    """校验码 and the return instruction (small, grey), printed only on a handed-out form; the
    token also goes into the document property gongwen_token."""
    for line in ("{% if form %}校验码：{{ form.code }}{% endif %}",
                 "{%% if form %%}请在“%s”一栏勾选或保留一项，填写批示、签名和日期后交回办公室。"
                 "{%% endif %%}" % decision):
        para(doc, R(line, None, 9, GREY), style="GW Cell", jc="left")
    custom_property(doc, "gongwen_token", "{{ form.token if form else '' }}")


SEQ, DATE = 760, 2300     # 序号 and date columns of the 小四 tables (see build_templates.py)


def history_table(doc, widths=(SEQ, 1600, 1800, 2384, DATE), current=False, sheet=None):
    """办理记录: the earlier steps, and with ``current`` the step being recorded as the last row
    (for the forms that have no rows of their own for it). With ``sheet`` (the form's name) it goes
    on a continuation sheet by design: a new page headed "<issuer><sheet>（续页）" (3号) and the item key,
    so that the form itself is one page however long the history grows."""
    if sheet:
        # 3号 (the 2号 of the form's own title would wrap a long issuer's name + （续页）)
        para(doc, R("{{ settings.issuer_name }}" + sheet + "（续页）", XBS, 16), style="GW Form Title",
             **dict(STYLES["GW Form Title"][1], page_break=True))
        para(doc, "编号：{{ item.key }}", style="GW Form Meta")
    caption(doc, "办理记录")
    t = table(doc, list(widths), small=True, centered=(0, 4))
    row(t, "序号", "办理环节", "办理人", "意见", "日期", header=True)
    tag_row(t, "{%tr for h in history or [] %}")
    row(t, "{{ loop.index }}", "{{ h.transition_title }}",
        "{{ h.actor_name }}{% if h.actor_title %}（{{ h.actor_title }}）{% endif %}",
        "{{ h.comment or '' }}", "{{ h.date|cn_date if h.date else '' }}")
    tag_row(t, "{%tr endfor %}")
    if current:
        row(t, "{{ (history or [])|length + 1 }}", "{{ event.transition_title }}", ACTOR,
            "{{ event.comment or '' }}", TODAY)


# --- plan -----------------------------------------------------------------------------------------
def plan_draft_sheet():
    """发文稿纸: the approval sheet of an outgoing document (核稿, 签发, 会签, 印制). The 核稿 rows
    hold the reviewer's step (``review``), also on the sheet the reviewer's own step hands out;
    the 签发 rows are the supervisor's (empty on the form, the decision on the filed copy); the
    steps themselves are listed in 办理记录, the current one last."""
    doc = form_doc("发文稿纸", "工作计划")
    tag(doc, "{%p set dept = (history or [])|selectattr('transition', 'equalto', 'dept_approve')|list %}")
    t = table(doc, FORM)
    fields(t, ("标题", "{{ title or '' }}"))
    fields(t, ("发文字号", "{{ numbers.doc_number or (settings.issuer_code or '') ~ '〔' ~ "
                       "today[:4] ~ '〕　号' }}"), ("年度", "{{ year or '' }}"))
    fields(t, ("密级", ""), ("紧急程度", "{{ urgency or '平件' }}"))
    fields(t, ("文种", text("kind")), ("主办科室", "{{ department or '' }}"))
    fields(t, ("拟稿人", "{{ item.creator_name }}"),
           ("拟稿日期", "{{ (history[0].date if history else event.date)|cn_date }}"))
    fields(t, ("联系电话", text("drafter_phone")), ("公开属性", text("publicity")))
    fields(t, ("科室审核", DEPT_OPINION), height=600)
    fields(t, ("审核人", DEPT_ACTOR), ("审核日期", DEPT_DATE))
    fields(t, ("核稿意见", "{{ (review.opinion or '同意') if review else '' }}"), height=600)
    fields(t, ("核稿人", REVIEWER), ("核稿日期", REVIEW_DATE))
    approval_rows(t, "签发意见", "签发人", "签发日期")
    fields(t, ("会签", COUNTERSIGN_LINES), height=700)
    fields(t, ("主送", text("main_to")))
    fields(t, ("抄送", text("cc")))
    fields(t, ("印制份数", text("copies")), ("印发日期", date("issue_date")))
    form_footer(doc, "签发意见")
    history_table(doc, current=True, sheet="发文稿纸")
    return doc


# the 科室审核 (the drafting office's head: transition dept_approve), the last one of the history
DEPT_OPINION = "{{ (dept[-1].comment or '同意') if dept else '' }}"
DEPT_ACTOR = "{{ dept[-1].actor_name if dept else '' }}"
DEPT_DATE = "{{ dept[-1].date|cn_date if dept else '' }}"

COUNTERSIGN_LINES = [  # one line per office: its opinion, signer and date (待会签 while pending)
    "{%p for r in (countersign.rows if countersign else []) %}",
    "{{ r.office }}：{{ r.decision or '待会签' }}{{ '，' ~ r.opinion if r.opinion else '' }}"
    "{% if r.signer_name %}　{{ r.signer_name }}　{{ r.date|cn_date }}{% endif %}",
    "{%p endfor %}"]


def countersign_sheet():
    """会签单: one per countersigning office, handed out when the 会签 opens. The office ticks 同意 or
    不同意, writes its opinion, signs and dates it; ingest records it as that office's opinion.
    The office it is for (``countersigner``) is fixed content, covered by the form's token."""
    doc = form_doc("会签单", "工作计划")
    t = table(doc, FORM)
    fields(t, ("标题", "{{ title or '' }}"))
    fields(t, ("文种", text("kind")), ("主办科室", "{{ department or '' }}"))
    fields(t, ("拟稿人", "{{ item.creator_name }}"), ("联系电话", text("drafter_phone")))
    fields(t, ("核稿意见", "{{ (review.opinion or '同意') if review else '' }}"), height=700)
    fields(t, ("会签单位", "{{ countersigner.title if countersigner else '' }}"))
    options = []
    for i, option in enumerate(("同意", "不同意")):
        options += [Check("gw-decision-" + option), option + ("　" if i == 0 else "")]
    fields(t, ("会签意见", [tuple(options)]))
    fields(t, ("意见", ""), height=1800)
    fields(t, ("会签人", ""), ("日期", ""))
    form_footer(doc, "会签意见")
    return doc


# --- shared forms ---------------------------------------------------------------------------------
def _form(name, workflow, rows, title=None):
    """A form: the item summary, the given rows ((label, value) pairs, height), the history."""
    doc = form_doc(name, WORKFLOW_TITLES[workflow], title)
    t = table(doc, FORM)
    summary(t, workflow)
    for pairs, height in rows:
        fields(t, *pairs, height=height)
    history_table(doc)
    return doc


WORKFLOW_TITLES = {"plan": "工作计划", "inspection": "督导检查", "clean_school": "清廉学校认定"}


def return_opinion(workflow):
    return _form("退回意见", workflow, [
        ([("退回环节", "{{ event.transition_title }}"), ("退回日期", TODAY)], None),
        ([("退回人", ACTOR)], None),
        ([("退回意见", "{{ event.comment or '' }}")], 2000),
        ([("经办人签收", ""), ("签收日期", "")], None),
    ])


def withdrawal(workflow):
    return _form("撤回说明", workflow, [
        ([("撤回人", ACTOR), ("撤回日期", TODAY)], None),
        ([("撤回后状态", "{{ item.state_title }}")], None),
        ([("撤回说明", "{{ event.comment or '' }}")], 2000),
    ])


def edit_record(workflow):
    return _form("修改记录", workflow, [
        ([("修改人", ACTOR),
          ("修改时间", "{{ event.date|cn_date }}{% if event.time %}{{ event.time|cn_time }}{% endif %}")],
         None),
        ([("当前状态", "{{ item.state_title }}")], None),
        ([("修改说明", "{{ event.comment or '' }}")], 1600),
    ])


def refusal(workflow):
    """不予签发意见 (plan) / 不予审定意见 (inspection)."""
    verb = {"plan": "签发", "inspection": "审定"}[workflow]
    return _form("不予%s意见" % verb, workflow, [
        ([("不予%s理由" % verb, "{{ event.comment or '' }}")], 2000),
        ([(verb + "人", ACTOR), ("日期", TODAY)], None),
    ])


def objection(_workflow="clean_school"):
    return _form("异议处理意见", "clean_school", [
        ([("公示期", "{% if publicity_start %}{{ publicity_start|cn_date }}至"
                      "{{ publicity_end|cn_date if publicity_end else '' }}{% endif %}")], None),
        ([("异议情况", text("objection"))], 1400),
        ([("处理结论", "{{ event.transition_title }}")], None),
        ([("处理意见", "{{ event.comment or '' }}")], 1400),
        ([("处理人", ACTOR), ("处理日期", TODAY)], None),
    ])


def recheck(_workflow="clean_school"):
    return _form("复核意见", "clean_school", [
        ([("命名日期", date("naming_date")), ("命名文件文号", "{{ numbers.naming_number or '' }}")], None),
        ([("证书编号", "{{ numbers.certificate_number or '' }}"), ("有效期至", date("valid_until"))], None),
        ([("复核日期", date("recheck_date")), ("复核结论", text("recheck_result"))], None),
        ([("复核意见", "{{ event.comment or '' }}")], 1600),
        ([("复核人", ACTOR), ("填表日期", TODAY)], None),
    ])


def approval_sheet(workflow):
    """审批表: item summary, the opinion of the step that sent it up (``review``), the decision
    block (empty on the form, the decision on the filed copy), the history with the current step."""
    doc = form_doc("审批表", WORKFLOW_TITLES[workflow], "{{ item.workflow_title }}审批表")
    t = table(doc, FORM)
    fields(t, ("事项", "{{ item.title }}"))
    if workflow == "inspection":
        fields(t, ("被督导学校", "{{ school or '' }}"), ("学段", text("stage")))
        fields(t, ("督导类型", "{{ kind or '' }}"), ("办学性质", text("school_type")))
        fields(t, ("督导事项", text("topic")))
        fields(t, ("实地督导时间", VISIT_RANGE))
        fields(t, ("督导评估得分", num("score")), ("督导结论", text("conclusion")))
        fields(t, ("总体评价", text("overall")), height=900)
        fields(t, ("存在问题", "共{{ (findings or [])|length }}项，其中重大问题{{ (findings or [])|"
                           "selectattr('severity', 'equalto', '重大')|list|length }}项"))
        fields(t, ("审核意见", "{{ (review.opinion or '同意') if review else '' }}"), height=900)
        fields(t, ("审核人", REVIEWER), ("审核日期", REVIEW_DATE))
    else:
        fields(t, ("学校名称", "{{ school or '' }}"))
        fields(t, ("学段", text("stage")), ("认定级别", text("level")))
        fields(t, ("申报类型", "{{ tier or '' }}"), ("批次（年度）", "{{ batch or '' }}"))
        fields(t, ("自评总分", SELF_TOTAL),
               ("一票否决项", "{% if (veto_items or [])|selectattr('hit')|list %}存在"
                         "{% else %}无{% endif %}"))
        fields(t, ("初审意见", text("county_opinion")), height=900)
        fields(t, ("初审人", REVIEWER), ("初审日期", REVIEW_DATE))
        fields(t, ("推荐排序", text("county_rank")))
        fields(t, ("评估组", text("city_team")))
        fields(t, ("实地查验日期", date("city_date")), ("评估得分", num("city_score")))
        fields(t, ("评估意见", text("city_opinion")), height=900)
        fields(t, ("公示期", "{% if publicity_start %}{{ publicity_start|cn_date }}至"
                          "{{ publicity_end|cn_date if publicity_end else '' }}{% endif %}"))
    approval_rows(t)
    form_footer(doc)
    history_table(doc, current=True, sheet="{{ item.workflow_title }}审批表")
    return doc


# --- clean_school ---------------------------------------------------------------------------------
def application():
    """清廉学校认定申报表: school facts, self scores per indicator, veto items, opinions."""
    doc = form_doc("申报表", "清廉学校认定", "清廉学校认定申报表")
    t = table(doc, FORM)
    fields(t, ("学校名称", "{{ school or '' }}"))
    fields(t, ("学段", text("stage")), ("认定级别", text("level")))
    fields(t, ("申报类型", "{{ tier or '' }}"), ("批次（年度）", "{{ batch or '' }}"))
    fields(t, ("联系人及电话", text("contact")))
    caption(doc, "自评得分")
    s = table(doc, [1300, 4244, 1600, 1700], small=True, centered=(0, 2, 3))
    row(s, "指标编号", "指标", "满分", "得分", header=True)
    tag_row(s, "{%tr for s in self_scores or [] %}")
    row(s, "{{ s.code }}",
        "{% for i in params.indicators if i.code|string == s.code|string %}{{ s.indicator or "
        "i.title }}{% else %}{{ s.indicator or '' }}{% endfor %}",
        "{% for i in params.indicators if i.code|string == s.code|string %}{{ i.max }}{% endfor %}",
        num("s.score"))
    tag_row(s, "{%tr endfor %}")
    row(s, Cell("合计", 2, True), "{{ params.indicators|sum(attribute='max') }}", SELF_TOTAL)
    caption(doc, "一票否决项")
    v = table(doc, [4244, 1600, 3000], small=True, centered=(1,))
    row(v, "否决项", "是否存在", "情况说明", header=True)
    tag_row(v, "{%tr for v in veto_items or params.veto_items %}")
    row(v, "{{ v.item if v is mapping else v }}",
        "{% if v is mapping %}{{ '是' if v.hit else '否' }}{% endif %}",
        "{{ (v.note or '') if v is mapping else '' }}")
    tag_row(v, "{%tr endfor %}")
    blank(doc, style="GW Cell")
    o = table(doc, FORM)
    fields(o, ("自评报告", text("self_report")), height=2400)
    fields(o, ("佐证材料清单", text("evidence")), height=900)
    fields(o, ("学校意见", ["", "负责人（签字）：　　　　　　　　（学校盖章）",
                           "　　　　　　　　　　　　　　　　年　　月　　日"]), height=1400)
    fields(o, ("初审意见", text("county_opinion")), height=900)
    fields(o, ("推荐排序", text("county_rank")), ("申报日期", TODAY))
    history_table(doc)
    return doc



def county_recommendation():
    """初审推荐表: the county's pre-review sent up with the application (初审通过). Not an
    approval form: the city's decision is taken on the 审批表 handed out after its assessment."""
    doc = form_doc("初审推荐表", "清廉学校认定", "清廉学校认定初审推荐表")
    t = table(doc, FORM)
    summary(t, "clean_school")
    fields(t, ("联系人及电话", text("contact")))
    fields(t, ("自评总分", SELF_TOTAL),
           ("一票否决项", "{% if (veto_items or [])|selectattr('hit')|list %}存在"
                     "{% else %}无{% endif %}"))
    fields(t, ("佐证材料清单", text("evidence")), height=900)
    fields(t, ("初审意见", text("county_opinion")), height=1400)
    fields(t, ("推荐排序", text("county_rank")), ("推荐日期", TODAY))
    fields(t, ("初审人", ACTOR))
    fields(t, ("初审说明", "{{ event.comment or '' }}"), height=900)
    history_table(doc)
    return doc
