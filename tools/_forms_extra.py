"""More internal forms (not 公文): the 印制校对单 of the 发文 procedure, and the inspection's forms
(实地督导安排, 督导报告, 现场反馈记录, 复查验收单, 销号登记表, and the 督办通知单: the 催办通知 `gongwen
tick` renders when a deadline passes). Built like the forms of _forms.py: a title line (issuer +
form name), the item key, label cells."""

from _forms import (
    ACTOR,
    DATE,
    FORM,
    FORM_WIDE,
    LEADER,
    SEQ,
    TEAM_INLINE,
    TODAY,
    VISIT_RANGE,
    caption,
    date,
    form_doc,
    num,
    text,
)
from _gbt9704 import KAITI, LINE, R, blank, fields, para, row, table, tag, tag_row


def print_proof_sheet():
    """印制校对单 (发文办理: 登记, 印制, 校对, 用印): one page."""
    doc = form_doc("印制校对单", "工作计划")
    t = table(doc, FORM)
    fields(t, ("文号", "{{ numbers.doc_number or '' }}"))
    fields(t, ("标题", "{{ title or '' }}"))
    fields(t, ("主办科室", "{{ department or '' }}"), ("紧急程度", "{{ urgency or '平件' }}"))
    fields(t, ("印制份数", text("copies")), ("印发日期", date("issue_date")))
    fields(t, ("校对人", text("proofreader")), ("用印经办人", text("sealed_by")))
    fields(t, ("主送", text("main_to")))
    fields(t, ("抄送", text("cc")))
    fields(t, ("校对意见", "{{ event.comment or '' }}"), height=1600)
    fields(t, ("经办人", ACTOR), ("日期", TODAY))
    return doc


def feedback_record():
    """现场反馈记录: the team's preliminary findings told to the school at the end of the visit, and
    the school's statement (申辩) with the team's answer."""
    doc = form_doc("现场反馈记录", "督导检查")
    t = table(doc, FORM)
    fields(t, ("被督导学校", "{{ school or '' }}"))
    fields(t, ("督导类型", "{{ kind or '' }}"), ("反馈日期", date("feedback_date")))
    fields(t, ("实地督导时间", VISIT_RANGE))
    fields(t, ("督导组组长", LEADER), ("记录人", ACTOR))
    fields(t, ("反馈情况", text("feedback_notes")), height=1800)
    caption(doc, "反馈的主要问题")
    f = table(doc, [SEQ, 8084], small=True, centered=(0,))
    row(f, "序号", "问题描述", header=True)
    tag_row(f, "{%tr for f in findings or [] %}")
    row(f, "{{ loop.index }}", "{{ f.description or '' }}")
    tag_row(f, "{%tr endfor %}")
    blank(doc, style="GW Cell")
    s = table(doc, FORM)
    fields(s, ("学校意见（申辩）", text("appeal")), height=1200)
    fields(s, ("督导组答复", text("appeal_response")), height=1200)
    fields(s, ("学校负责人签字", ""), ("日期", ""))
    return doc


def recheck_sheet():
    """复查验收单 (landscape): one row per finding: the school's 整改措施, the recheck's date,
    result (通过/未通过), evidence and verifier."""
    doc = form_doc("复查验收单", "督导检查", "督导问题整改复查验收单", landscape=True)
    t = table(doc, FORM_WIDE)
    fields(t, ("被督导学校", "{{ school or '' }}"), ("整改通知书文号", "{{ numbers.rectify_letter or '' }}"))
    fields(t, ("整改报告收到日期", date("report_received")), ("复查日期", date("recheck_date")))
    caption(doc, "逐项复查情况")
    f = table(doc, [SEQ, 2900, 3100, DATE, 1200, 2498, 1200], small=True, centered=(0, 3, 4))
    row(f, "序号", "问题描述", "整改措施", "复查日期", "复查结果", "佐证材料", "验收人", header=True)
    tag_row(f, "{%tr for f in findings or [] %}")
    row(f, "{{ loop.index }}", "{{ f.description or '' }}", "{{ f.measures or '' }}",
        "{{ f.recheck_date|cn_date if f.recheck_date else '' }}", "{{ f.recheck_result or '' }}",
        "{{ f.evidence or '' }}", "{{ f.verifier or '' }}")
    tag_row(f, "{%tr endfor %}")
    blank(doc, style="GW Cell")
    s = table(doc, FORM_WIDE)
    fields(s, ("复查意见", text("recheck_opinion")), height=900)
    fields(s, ("填表人", ACTOR), ("填表日期", TODAY))
    return doc


def reminder_sheet():
    """督办通知单: `gongwen tick` renders it when the 整改 report is overdue (an internal 督办 form,
    handed to the 督学 who follows the school up; not a 公文)."""
    doc = form_doc("催办通知", "督导检查", "督办通知单")
    t = table(doc, FORM)
    fields(t, ("被督导学校", "{{ school or '' }}"))
    fields(t, ("整改通知书文号", "{{ numbers.rectify_letter or '' }}"), ("下达日期", date("notice_issued")))
    fields(t, ("督办事项", "{{ deadline.title if deadline else '' }}"))
    fields(t, ("办理时限", "{{ deadline.due|cn_date if deadline and deadline.due else '' }}"),
           ("督办日期", TODAY))
    fields(t, ("承办人员", "{{ deadline.roles_title if deadline else '' }}"))
    fields(t, ("督办要求", "请于接单后及时联系学校，督促其尽快报送整改报告及佐证材料"
                      "{% if deadline and deadline.escalate_after %}；逾期{{ deadline.escalate_after }}仍未报送的，"
                      "报{{ deadline.escalate_to }}督办{% endif %}。"), height=1200)
    fields(t, ("办理情况", ""), height=1600)
    fields(t, ("承办人签字", ""), ("办结日期", ""))
    fields(t, ("督办人", ACTOR))
    return doc


# --- inspection -----------------------------------------------------------------------------------
def visit_plan():
    """实地督导安排: school facts, the team ({%tr for %}) and the day's schedule."""
    doc = form_doc("实地督导安排", "督导检查")
    t = table(doc, FORM)
    fields(t, ("被督导学校", "{{ school or '' }}"))
    fields(t, ("学段", text("stage")), ("办学性质", text("school_type")))
    fields(t, ("在校学生数", num("students")), ("教职工数", num("teachers")))
    fields(t, ("督导类型", "{{ kind or '' }}"), ("依据方案文号", text("basis")))
    fields(t, ("督导事项", text("topic")))
    fields(t, ("实地督导时间", VISIT_RANGE))
    fields(t, ("自评得分", num("self_score")), ("督导通知日期", date("notice_date")))
    fields(t, ("自评报告摘要", text("self_report")), height=1200)
    fields(t, ("安排人", ACTOR), ("安排日期", TODAY))
    caption(doc, "督导组成员")
    team = table(doc, [SEQ, 2640, 2600, 2844], small=True, centered=(0,))
    row(team, "序号", "姓名", "组内职务", "督学类别", header=True)
    tag_row(team, "{%tr for m in team or [] %}")
    row(team, "{{ loop.index }}", "{{ m.name }}", "{{ m.role or '成员' }}", "{{ m.kind or '' }}")
    tag_row(team, "{%tr endfor %}")
    caption(doc, "日程安排")
    plan = table(doc, [SEQ, 1540, 3744, 1400, 1400], small=True, centered=(0, 3))
    row(plan, "序号", "工作环节", "主要内容", "时间", "负责人", header=True)
    for i, (step, what) in enumerate([
            ("听取汇报", "听取学校自评情况汇报"),
            ("查阅资料", "查阅发展规划、规章制度、会议记录、经费账目和教育教学资料"),
            ("实地查看", "查看校舍场地、功能室、食堂宿舍和安全设施"),
            ("随堂听课", "随机进入课堂听课，了解课堂教学情况"),
            ("座谈访谈", "分别召开教师、学生、家长座谈会，开展个别访谈"),
            ("问卷调查", "面向教师、学生和家长发放问卷"),
            ("反馈意见", "督导组汇总情况，向学校反馈初步督导意见")], start=1):
        row(plan, str(i), step, what, "", "")
    return doc


def inspection_report():
    """督导报告: the facts of the visit, the evaluation and the findings."""
    doc = form_doc("督导报告", "督导检查")
    para(doc, R("{{ school or '' }}{{ kind or '' }}", KAITI), style="GW Body", line=LINE, jc="center")
    t = table(doc, FORM)
    fields(t, ("被督导学校", "{{ school or '' }}"), ("学段", text("stage")))
    fields(t, ("办学性质", text("school_type")), ("督导类型", "{{ kind or '' }}"))
    fields(t, ("在校学生数", num("students")), ("教职工数", num("teachers")))
    fields(t, ("督导事项", text("topic")))
    fields(t, ("实地督导时间", VISIT_RANGE))
    fields(t, ("督导组", TEAM_INLINE))
    fields(t, ("听课节数", num("lessons")), ("个别访谈人次", num("interviews")))
    fields(t, ("座谈会场次", num("forums")), ("问卷份数", num("surveys")))
    fields(t, ("自评得分", num("self_score")), ("督导评估得分", num("score")))
    fields(t, ("督导结论", text("conclusion")))
    fields(t, ("总体评价", text("overall")), height=1600)
    fields(t, ("自评报告摘要", text("self_report")), height=900)
    caption(doc, "存在问题及整改要求")
    f = table(doc, [SEQ, 800, 2084, 700, 2200, DATE], small=True, centered=(0, 3, 5))
    row(f, "序号", "类别", "问题描述（部位、依据）", "等级", "整改要求（责任单位、责任人）", "整改期限",
        header=True)
    tag_row(f, "{%tr for f in findings or [] %}")
    row(f, "{{ loop.index }}", "{{ f.category or '' }}",
        ["{{ f.description or '' }}", "{% if f.location %}部位：{{ f.location }}{% endif %}",
         "{% if f.basis %}依据：{{ f.basis }}{% endif %}"],
        "{{ f.severity or '' }}",
        ["{{ f.requirement or '' }}", "{% if f.dept or f.person %}责任：{{ f.dept or '' }}"
         "{% if f.person %}（{{ f.person }}）{% endif %}{% endif %}"],
        "{{ f.deadline|cn_date if f.deadline else '' }}")
    tag_row(f, "{%tr endfor %}")
    blank(doc, style="GW Cell")
    s = table(doc, FORM)
    fields(s, ("督导组组长", LEADER), ("报告日期", TODAY))
    fields(s, ("提交人", ACTOR))
    return doc


def closing_register():
    """销号登记表 (landscape): every finding with its 责任, 整改措施, status (复查通过 …), closing
    date and verifier."""
    doc = form_doc("销号登记表", "督导检查", "督导问题整改销号登记表", landscape=True)
    tag(doc, "{%p set closed = (findings or [])|selectattr('status', 'equalto', '已销号')|list %}")
    t = table(doc, FORM_WIDE)
    fields(t, ("被督导学校", "{{ school or '' }}"),
           ("整改通知书文号", "{{ numbers.rectify_letter or '' }}"))
    fields(t, ("整改通知下达日期", date("notice_issued")), ("整改报告报送期限", date("report_due")))
    fields(t, ("整改报告收到日期", date("report_received")),
           ("销号进度", "已销号{{ closed|length }}项，共{{ (findings or [])|length }}项"))
    caption(doc, "问题整改销号明细")
    f = table(doc, [SEQ, 600, 1760, 600, 1400, DATE, 1100, 1318, 820, DATE, 1000],
              small=True, centered=(0, 3, 5, 8, 9))
    row(f, "序号", "类别", "问题描述", "等级", "整改要求", "整改期限", "责任单位（人）", "整改措施", "状态",
        "销号日期", "验收人", header=True)
    tag_row(f, "{%tr for f in findings or [] %}")
    row(f, "{{ loop.index }}", "{{ f.category or '' }}", "{{ f.description or '' }}",
        "{{ f.severity or '' }}", "{{ f.requirement or '' }}",
        "{{ f.deadline|cn_date if f.deadline else '' }}",
        "{{ f.dept or '' }}{% if f.person %}（{{ f.person }}）{% endif %}", "{{ f.measures or '' }}",
        "{{ f.status or '' }}", "{{ f.closed_on|cn_date if f.closed_on else '' }}", "{{ f.verifier or '' }}")
    tag_row(f, "{%tr endfor %}")
    blank(doc, style="GW Cell")
    s = table(doc, FORM_WIDE)
    fields(s, ("登记人", ACTOR), ("登记日期", TODAY))
    return doc


BUILDERS = {"plan": {"印制校对单.docx": print_proof_sheet},
            "inspection": {"现场反馈记录.docx": feedback_record, "复查验收单.docx": recheck_sheet,
                           "催办通知.docx": reminder_sheet, "实地督导安排.docx": visit_plan,
                           "督导报告.docx": inspection_report, "销号登记表.docx": closing_register}}
