"""Sample render contexts for the Word templates of the shipped workflows.

``sample_context(workflow_id)`` returns a deterministic context shaped like the renderer's: every
item field at top level, plus ``item``, ``numbers``, ``event``, ``history``, ``settings``,
``params`` (from the definition), ``today``, ``review`` (the reviewer's ``forward`` step of the
history) and ``decision`` (the supervisor's ``approve`` of the history, as the copy of the form
filed with the decision shows it). Values are realistic but invented; several contain
``& < > " '`` to exercise escaping. ``sample_context(workflow_id, minimal=True)`` keeps only the
definition's required fields (others None, optional lists empty, no numbers, no history, no
review, no decision) to exercise the templates' handling of missing values.
``sample_context(workflow_id, form=True)`` adds ``form`` (``id``, ``code``, ``token``), as the
renderer passes it for a handed-out approval form (校验码 line and the gongwen_token document
property), and has no decision (the form is not filled in yet); by default there is no ``form``
key. ``sample_context(workflow_id, template="命名决定.docx")`` gives ``settings`` the issuer of the
definition's step that renders that template (its ``issuer:``, e.g. the city), as the renderer
does (without it, or for a template no step with an issuer renders, the workspace's own: bureau),
and ``event`` that step (the last sample step of a transition that lists the template: from the
history, the current event, or the sample's ``later`` steps), so dates and signers fit the
document. ``settings.issuers`` always maps every issuer id to its id, name and code.
"""

import copy
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ISSUERS = {"bureau": {"id": "bureau", "name": "某某县教育局", "code": "某教发"},
           "supervision": {"id": "supervision", "name": "某某县人民政府教育督导室", "code": "某教督"},
           "city": {"id": "city", "name": "某某市教育局", "code": "某市教发"}}


def settings_for(issuer_id="bureau"):
    """``settings`` as the renderer gives it for a step of this issuer."""
    issuer = ISSUERS[issuer_id]
    return {"issuer_name": issuer["name"], "issuer_code": issuer["code"], "issuer": issuer_id,
            "issuers": copy.deepcopy(ISSUERS)}


SETTINGS = settings_for()
# what `gongwen tick` gives a 催办通知 (issue 14): the deadline that passed
DEADLINE = {"id": "rectification", "title": "整改报告报送", "due": "2024-06-28",
            "due_time": "2024-06-29T00:00:00+08:00", "roles": ["inspector", "office"],
            "roles_title": "督学、督导室文书", "escalate_after": "3个工作日", "escalate_to": "督导室主任"}
FORM = {"id": "JH-2024-0007#3", "code": "JH-2024-0007/r4/f3/0123456789abcdef0123",
        "token": '{"v":1}'}


def _event(transition, title, actor, actor_title, comment, date, time="09:30"):
    return {"transition": transition, "transition_title": title, "actor_name": actor,
            "actor_title": actor_title, "comment": comment, "date": date, "time": time}


SAMPLES = {
    "plan": {
        "fields": {
            "title": '某某县教育局2024年工作要点（"双减"&<课后服务> \'提质\'）',
            "year": 2024,
            "kind": "工作要点",
            "department": "基础教育科",
            "drafter_phone": "0123-4567890",
            "contact": "李明",
            "main_to": "各乡镇（街道）中心学校，县直各学校，局机关各股室",
            "cc": "县委教育工作领导小组办公室，县人民政府办公室",
            "summary": "坚持立德树人根本任务，围绕“优质均衡”目标，统筹推进学前教育普惠、"
                       "义务教育提质和校园安全治理，办好人民满意的教育 & 群众<身边>的好学校。",
            "sections": [
                {"heading": "推进学前教育普惠发展", "content": "新建、改扩建公办幼儿园，"
                 "扩大普惠性学前教育资源供给。", "target": "新建公办幼儿园4所，普惠性幼儿园覆盖率达到92%",
                 "lead_dept": "基础教育科", "partner_dept": "计划财务科", "leader": "陈副局长",
                 "due": "2024-12-31"},
                {"heading": "深化义务教育“双减”工作", "content": "规范作业管理，提升课后服务质量，"
                 "严格校外培训监管。", "target": "课后服务覆盖率100%", "lead_dept": "基础教育科",
                 "partner_dept": "校外培训监管股", "leader": "刘副局长", "due": "2024-09-30"},
                {"heading": "加强校园安全和后勤管理", "content": "开展校舍、消防、食品安全隐患排查，"
                 "建立问题整改台账。", "target": None, "lead_dept": "安全管理股",
                 "partner_dept": None, "leader": "刘副局长", "due": None},
            ],
            "urgency": "加急",
            "publicity": "主动公开",
            "copies": 60,
            "issue_date": "2024-03-08",
            "proofreader": "陈静",
            "sealed_by": "王芳",
            "cosign_offices": ["计划财务股"],
            "dispatch_note": "已通过电子公文系统分送",
            "archive_no": None,
        },
        "item": {"key": "JH-2024-0012", "state_title": "已印发"},
        "numbers": {"doc_number": "某教发〔2024〕12号"},
        "event": _event("print", "印制校对", "王芳", "办公室文书", "校对无误，已用印", "2024-03-08", "10:30"),
        "history": [
            _event("submit", "送审核", "李明", "拟稿人", "请审核", "2024-02-19"),
            _event("dept_approve", "科室审核通过", "孙强", "基础教育股股长", "同意，送办公室核稿",
                   "2024-02-20"),
            _event("forward", "核稿通过，呈送签发", "张华", "核稿人",
                   '同意，建议将"双减"表述与市局文件一致', "2024-02-22"),
            _event("approve", "签发", "赵强", "签发人", "同意印发", "2024-03-01"),
            _event("register", "复核登记", "王芳", "办公室文书", "", "2024-03-04"),
        ],
        "today": "2024-03-08",
    },
    "inspection": {
        "fields": {
            "school": "某某县第一实验小学",
            "stage": "小学",
            "school_type": "公办",
            "students": 1860,
            "teachers": 112,
            "kind": "综合督导",
            "topic": "办学行为规范与校园安全",
            "basis": "某教督〔2024〕2号",
            "notice_date": "2024-04-01",
            "visit_start": "2024-04-15",
            "visit_end": "2024-04-16",
            "team": [
                {"name": "周敏", "role": "组长", "kind": "专职督学"},
                {"name": "吴刚", "role": "成员", "kind": "兼职督学"},
                {"name": "郑丽", "role": "成员", "kind": "专职督学"},
            ],
            "self_score": 88.5,
            "self_report": "学校对照评估细则逐项自查，办学行为总体规范 & 安全制度健全。",
            "lessons": 12,
            "interviews": 30,
            "forums": 3,
            "surveys": 420,
            "feedback_date": "2024-04-16",
            "feedback_notes": "督导组向学校领导班子反馈了初步意见：办学方向正确，管理规范；"
                              "消防设施管理、食堂留样和作业总量控制存在问题，需限期整改。",
            "appeal": "学校对第3项问题无异议，已着手建立作业公示制度。",
            "appeal_response": "督导组维持原意见。",
            "score": 86.0,
            "conclusion": "良好",
            "overall": '学校办学方向正确，管理规范，"五项管理"落实较好；课后服务<内容>还需丰富，'
                       "部分设施存在安全隐患 & 需限期整改。",
            "strengths": "学校重视内涵发展，课程建设有特色，课后服务覆盖全部学生；"
                         "安全管理制度健全，家校沟通渠道畅通。",
            "suggestions": "进一步完善安全隐患排查机制，落实食品安全主体责任，"
                           "统筹调控各学科作业总量，丰富课后服务内容。",
            "findings": [
                {"category": "消防", "description": "教学楼二楼消火栓箱被杂物遮挡", "location": "教学楼二楼",
                 "severity": "一般", "basis": "消防安全管理规定第十条", "requirement": "立即清理，"
                 "落实每周巡查", "deadline": "2024-05-15", "dept": "总务处", "person": "孙伟",
                 "measures": "清理杂物，建立消防设施每周巡查登记制度", "status": "已销号",
                 "recheck_date": "2024-05-10", "recheck_result": "通过", "evidence": "巡查登记表、现场照片",
                 "verifier": "周敏", "closed_on": "2024-05-10"},
                {"category": "食品", "description": "食堂留样记录不完整（<48小时>）", "location": "食堂",
                 "severity": "重大", "basis": None, "requirement": "完善留样制度并培训从业人员",
                 "deadline": "2024-05-31", "dept": "后勤处", "person": "钱红",
                 "measures": "修订留样管理制度，配备专用留样柜，组织从业人员培训", "status": "已销号",
                 "recheck_date": "2024-05-28", "recheck_result": "通过", "evidence": "留样记录、培训签到表",
                 "verifier": "吴刚", "closed_on": "2024-05-28"},
                {"category": "办学行为", "description": "个别班级作业总量超出规定", "location": None,
                 "severity": "一般", "basis": None, "requirement": "建立作业公示制度",
                 "deadline": "2024-06-15", "dept": "教导处", "person": "李芳",
                 "measures": "各班每日公示作业，教导处每周抽查", "status": "复查通过",
                 "recheck_date": "2024-06-25", "recheck_result": "通过", "evidence": "作业公示记录",
                 "verifier": "郑丽", "closed_on": None},
            ],
            "notice_issued": "2024-04-28",
            "report_due": "2024-06-20",
            "report_received": "2024-06-12",
            "recheck_date": "2024-06-25",
            "recheck_opinion": "经复查，三项问题均已整改到位，同意全部销号。",
        },
        "item": {"key": "DD-2024-0005", "state_title": "已通报办结"},
        "numbers": {"notice_letter": "某教督函〔2024〕5号", "opinion_letter": "某教督函〔2024〕9号",
                    "rectify_letter": "某教督函〔2024〕10号", "recheck_letter": "某教督函〔2024〕16号",
                    "bulletin_number": "某教督〔2024〕4号"},
        "event": _event("complete", "整改复查完成", "周敏", "督学", "整改到位，同意办结", "2024-06-27"),
        "history": [
            _event("notify", "发出督导通知", "周敏", "督学", "", "2024-04-01"),
            _event("start_visit", "开始实地督导", "周敏", "督学", "", "2024-04-15"),
            _event("feedback", "现场反馈", "周敏", "督学", "", "2024-04-16"),
            _event("submit", "提交督导报告", "周敏", "督学", "", "2024-04-22"),
            _event("forward", "审核通过，报请审定", "黄磊", "审核人", "报告客观，同意报审", "2024-04-23"),
            _event("approve", "审定同意", "赵强", "督导室主任", "同意", "2024-04-24"),
            _event("publish", "下达整改通知", "王芳", "督导室文书", "", "2024-04-28"),
            _event("close_finding", "销号", "周敏", "督学", "第1项验收合格", "2024-05-10"),
        ],
        "today": "2024-06-27",
        # later steps, for the templates they render (sample_context(..., template=...))
        "later": [_event("bulletin", "结果通报", "王芳", "督导室文书", "", "2024-07-05")],
    },
    "clean_school": {
        "fields": {
            "school": "某某县城关中学",
            "stage": "初中",
            "level": "市级",
            "tier": "示范校",
            "batch": 2024,
            "contact": "林涛 0123-7654321",
            "self_scores": [
                {"code": "1", "indicator": "组织领导", "score": 14},
                {"code": "2", "indicator": "制度建设与权力运行", "score": 18.5},
                {"code": "3", "indicator": "清廉教育与文化", "score": 19},
                {"code": "4", "indicator": "五清作风", "score": 18},
                {"code": "5", "indicator": None, "score": 14},
                {"code": "6", "indicator": "特色创新", "score": 9},
            ],
            "self_report": '学校建立"小微权力清单"，推行校务公开 & 家校共育；<廉洁文化长廊>'
                           "已建成使用。",
            "veto_items": [
                {"item": "班子成员违纪违法受处分", "hit": False, "note": None},
                {"item": "发生重大师德失范事件", "hit": False, "note": None},
                {"item": "发生重大安全责任事故", "hit": False, "note": "近三年无安全责任事故"},
            ],
            "evidence": "制度汇编、会议记录、公开栏照片、师生问卷",
            "county_opinion": "材料齐全，自评属实，同意推荐",
            "county_rank": 2,
            "city_team": "市教育局清廉学校评估组（组长：何军）",
            "city_date": "2024-04-22",
            "city_score": 92.5,
            "city_opinion": "创建工作扎实，特色鲜明，达到示范校标准。",
            "meeting_date": "2024-04-28",
            "publicity_start": "2024-05-06",
            "publicity_end": "2024-05-10",
            "publicity_contact": "某某市教育局机关纪委，电话0123-6543210，地址某某市人民路8号",
            "objection": "有群众反映食堂采购未公开招标，经核查采购程序合规",
            "naming_date": "2024-05-20",
            "valid_until": "2027-05-19",
            "award_date": "2024-05-24",
            "recheck_date": "2026-05-18",
            "recheck_result": "限期整改",
            "rectify_items": "1.校务公开栏未及时更新2026年春季学期收费信息；"
                             "2.小微权力清单未随机构调整修订。",
            "rectify_due": "2026-06-30",
            "rectify_result": "经验收，两项问题均已整改到位。",
            "revoke_reason": "学校副校长因违纪受到党内警告处分",
        },
        "item": {"key": "QL-2024-0031", "state_title": "已命名"},
        "numbers": {"recommend_number": "某教发〔2024〕15号", "naming_number": "某市教发〔2024〕21号",
                    "revoke_number": "某市教发〔2026〕9号", "refusal_letter": "某市教发函〔2024〕6号",
                    "rectify_letter": "某市教发函〔2026〕12号", "certificate_number": "某市教廉证〔2024〕8号"},
        "event": _event("name", "发文命名", "王芳", "市教育局办公室", "", "2024-05-20"),
        "history": [
            _event("submit", "提交申报", "林涛", "申报经办人", "", "2024-03-25"),
            _event("forward", "县级初审通过", "马丽", "县级初审人", "材料齐全，同意推荐", "2024-04-02"),
            _event("recommend", "行文推荐至市教育局", "刘军", "县教育局局长", "", "2024-04-03"),
            _event("evaluate", "录入市级评估结果", "何军", "市级评估组", "", "2024-04-22"),
            _event("approve", "集体研究通过，予以公示", "赵强", "市教育局领导", "同意公示", "2024-04-28"),
            _event("dismiss_objection", "异议不成立", "孙燕", "市教育局办公室", "经核查反映不实",
                   "2024-05-09"),
            _event("end_publicity", "公示期满", "系统", "", "", "2024-05-13"),
        ],
        "today": "2024-05-20",
        "later": [
            _event("reject", "不予认定", "赵强", "市教育局领导", "评估得分未达到示范校认定分数线", "2024-04-28"),
            _event("order_rectify", "复核限期整改", "何军", "市级评估组", "", "2026-05-20"),
            _event("revoke", "撤销命名", "赵强", "市教育局领导", "一票否决", "2026-07-10"),
        ],
    },
}


def _definition(workflow_id):
    with open(os.path.join(ROOT, "definitions", workflow_id + ".yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _minimal(fields, spec):
    """Keep required fields; optional ones None (lists empty); list records likewise."""
    result = {}
    for name, field in spec.items():
        value = fields.get(name)
        if field.get("type") == "list":
            records = value if field.get("required") else []
            result[name] = [_minimal(r, field.get("fields") or {}) for r in records or []]
        else:
            result[name] = value if field.get("required") else None
    return result


def issuer_of(definition, template):
    """The issuer id of the first step of the definition that renders ``template`` and names one."""
    for transition in (definition.get("transitions") or {}).values():
        transition = transition or {}
        if template in (transition.get("templates") or []) and transition.get("issuer"):
            return transition["issuer"]
    return "bureau"


def sample_context(workflow_id, minimal=False, form=False, template=None):
    definition = _definition(workflow_id)
    sample = copy.deepcopy(SAMPLES[workflow_id])
    fields = sample["fields"]
    for name in definition.get("fields") or {}:        # every declared field is present
        fields.setdefault(name, None)
    if minimal:
        fields = _minimal(fields, definition.get("fields") or {})
    item = dict(sample["item"], title=fields.get("title") or fields.get("school"),
                workflow_title=definition["title"], creator_name="李明")
    context = dict(fields)
    event = _event_for(definition, sample, template)
    context.update(
        item=item,
        numbers={} if minimal else sample["numbers"],
        event={k: v for k, v in event.items() if k != "transition"},
        history=[] if minimal else sample["history"],
        settings=settings_for(issuer_of(definition, template) if template else "bureau"),
        params=copy.deepcopy(definition.get("params") or {}),
        today=sample["today"],
        deadline=dict(DEADLINE),
    )
    context["review"] = None if minimal else _review(sample["history"])
    context["decision"] = None if minimal or form else _decision(definition, sample["history"])
    if form:
        context["form"] = dict(FORM)
    return context


def _event_for(definition, sample, template):
    """The step that renders ``template``: the last of the sample's steps (history, the current
    event, the later ones) whose transition lists it; else the sample's current event."""
    if template:
        renders = {tid for tid, t in (definition.get("transitions") or {}).items()
                   if template in ((t or {}).get("templates") or [])}
        steps = [h for h in sample["history"] + [sample["event"]] + sample.get("later", [])
                 if h["transition"] in renders]
        if steps:
            return steps[-1]
    return sample["event"]


def _review(history):
    """The reviewer's step as the renderer gives it: the last forward of the history."""
    h = [h for h in history if h["transition"] == "forward"][-1]
    return {"transition": "forward", "transition_title": h["transition_title"], "opinion": h["comment"],
            "actor": "reviewer", "actor_name": h["actor_name"], "actor_title": h["actor_title"],
            "date": h["date"], "time": h["date"] + "T" + h["time"]}


def _decision(definition, history):
    """The decision as the renderer gives it on the filed copy: the last approve of the history,
    read from the form of the definition's forms that decides it."""
    h = [h for h in history if h["transition"] == "approve"][-1]
    spec = next(t["form"] for t in definition["transitions"].values() if (t or {}).get("form")
                and "approve" in t["form"]["decisions"].values())
    options = list(spec["decisions"])
    option = next(o for o, target in spec["decisions"].items() if target == "approve")
    return {"option": option, "transition": "approve", "label": spec.get("decision_label", "审批意见"),
            "options": [{"option": o, "chosen": o == option, "mark": "☑" if o == option else "☐"}
                        for o in options],
            "marks": "\u3000".join(("☑" if o == option else "☐") + o for o in options),
            "signer": "supervisor", "signer_name": h["actor_name"], "signer_title": h["actor_title"],
            "opinion": h["comment"], "date": h["date"], "signed_on": "", "form": None, "from_form": True}
