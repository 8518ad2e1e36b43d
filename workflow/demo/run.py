"""`gongwen demo`: a fresh workspace with users and Chinese sample data, one item of each
workflow taken from draft to publish (one of them returned for rework on the way)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from workflow.errors import BadInput

MARKER = ".gongwen-demo"
USERS = [  # login, name, post, roles
    ("zhangwei", "张伟", "办公室科员", ["clerk"]),
    ("lina", "李娜", "办公室副主任（核稿）", ["reviewer"]),
    ("wangqiang", "王强", "局长", ["supervisor"]),
    ("chenjing", "陈静", "办公室文书", ["office"]),
    ("liuyang", "刘洋", "专职督学", ["inspector"]),
    ("zhaomin", "赵敏", "驻局纪检组干部", ["auditor"]),
]


def _fresh_dir(directory: str | None) -> Path:
    root = Path(directory or "gongwen-demo").resolve()
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise BadInput(f"{root} exists and is not an earlier demo workspace; give another DIR")
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("created by gongwen demo; `gongwen demo` may delete this folder\n")
    return root


def run_demo(directory: str | None = None, echo=None, db_url: str | None = None) -> dict:
    from workflow.engine import admin, users
    from workflow.engine.engine import Engine
    from workflow.store.workspace import init

    say = echo or (lambda *_: None)
    root = _fresh_dir(directory)
    ws = init(root, "某某县教育局", "某教发", db_url)
    engine = Engine(ws)
    admin.bootstrap_admin(ws, "admin")
    with ws.db.write() as session:
        for login, name, post, roles in USERS:
            users.add(session, login, name, post, roles, admin.known_roles(ws), engine.now().isoformat())
    say(f"demo workspace: {root}")
    say("users: " + "，".join(f"{name}（{login}，{post}）" for login, name, post, _ in USERS))
    log = []

    def step(login, key, transition, comment="", **sets):
        view = engine.fire(login, key, transition, comment, [(k.replace("__", "."), v) for k, v in sets.items()])
        number = "".join(f"，{n}：{v}" for n, v in view["numbers"].items() if transition == "publish")
        say(f"  {login:<10} {transition:<14} → {view['state']}（{view['state_title']}）"
            f"{'  意见：' + comment if comment else ''}{number}")
        log.append({"key": key, "actor": login, "transition": transition, "state": view["state"]})
        return view

    today = engine.now().date()
    items = [_plan(engine, step, say, today), _inspection(engine, step, say, today),
             _clean_school(engine, step, say, today)]
    say("")
    for view in engine.list_items("zhaomin"):
        say(f"{view['key']}  {view['state']}（{view['state_title']}）  {view['title']}"
            + "".join(f"  {n}：{v}" for n, v in view["numbers"].items()))
    waiting = engine.worklist("zhaomin")
    for wl in waiting:
        say(f"赵敏（审计）的工作清单 · {wl['workflow_title']} · {wl['title']}：{len(wl['items'])} 件")
    say(f"\nnext: cd {root} && gongwen --as zhaomin show {items[0]}")
    ws.close()
    return {"workspace": str(root), "items": engine_states(ws, items), "steps": log}


def engine_states(ws, keys) -> list[dict]:
    from workflow.engine.engine import Engine

    return [{"key": v["key"], "workflow": v["workflow"], "state": v["state"], "numbers": v["numbers"]}
            for v in Engine(ws).list_items("zhaomin") if v["key"] in keys]


def _plan(engine, step, say, today) -> str:
    year = today.year + 1
    values = {
        "title": f"某某县教育局{year}年工作要点", "year": year, "kind": "工作要点", "department": "办公室",
        "drafter_phone": "0000-1234567", "cc": "县委办公室，县政府办公室",
        "summary": "坚持立德树人，推进县域义务教育优质均衡发展，办好人民满意的教育。",
        "sections": [
            {"heading": "推进学前教育普及普惠", "content": "新建、改扩建公办幼儿园，扩大普惠性学位供给。",
             "lead_dept": "基础教育股", "partner_dept": "计划财务股", "leader": "副局长", "due": f"{year}-12-31"},
            {"heading": "加强教育督导", "content": "完成中小学校综合督导和责任督学挂牌督导全覆盖。",
             "target": "综合督导学校12所", "lead_dept": "督导室", "due": f"{year}-11-30"},
        ],
    }
    view = engine.create("zhangwei", "plan", values=values)
    key = view["key"]
    say(f"\n{key} 工作计划：{view['title']}")
    step("zhangwei", key, "submit")
    step("lina", key, "forward", "文稿规范，同意呈送签发。")
    step("wangqiang", key, "return", "第一项任务请补充量化目标。")
    step("zhangwei", key, "edit", sections__1__target="新建公办幼儿园2所，新增学位540个")
    step("zhangwei", key, "submit", "已补充量化目标。")
    view = step("lina", key, "forward", "已按领导意见修改，同意呈送签发。")
    _sign_on_paper(engine, say, view, today)
    step("chenjing", key, "publish", "", issue_date=today.isoformat(), copies="30")
    return key


def _sign_on_paper(engine, say, view, today) -> None:
    """The 局长 ticks 同意 on the printed 发文稿纸 in Word, writes his instruction, signs, and the
    office feeds the returned file back (`gongwen ingest`)."""
    from workflow.engine import registry
    from workflow.forms import fill as formfill
    from workflow.forms.ingest import ingest

    form_path = Path(view["documents"][0])
    with engine.db.read() as session:
        spec = registry.pinned(session, view["definition_version"]).transitions["forward"].form
    returned = form_path.parent.parent.parent / "returned" / f"{view['key']}_签发_已签.docx"
    returned.parent.mkdir(exist_ok=True)
    returned.write_bytes(formfill.fill(form_path.read_bytes(), spec, "同意", opinion="同意印发。", signer="王强",
                                       date=f"{today.year}年{today.month}月{today.day}日"))
    say(f"  王强 ticks 同意 on {form_path.name} in Word and signs; the office ingests {returned.name}")
    [result] = ingest(engine, "chenjing", [returned])
    if not result["ok"]:
        raise BadInput(f"demo: the signed form was refused: {result['message']}")
    say(f"  {result['signer']:<10} {result['transition']:<14} → {result['state']}（{result['state_title']}）"
        f"  (from the returned form, read as: {result['read_as']})")


def _inspection(engine, step, say, today) -> str:
    visit = today - dt.timedelta(days=40)
    values = {
        "school": "某某县第一实验小学", "stage": "小学", "school_type": "公办", "students": 1860, "teachers": 112,
        "kind": "综合督导", "topic": "办学行为、校园安全和课后服务", "basis": "某教督〔2024〕3号",
        "notice_date": (visit - dt.timedelta(days=30)).isoformat(), "visit_start": visit.isoformat(),
        "visit_end": (visit + dt.timedelta(days=1)).isoformat(),
        "team": [{"name": "刘洋", "role": "组长", "kind": "专职督学"},
                 {"name": "孙丽", "role": "成员", "kind": "兼职督学"}],
    }
    view = engine.create("liuyang", "inspection", values=values)
    key = view["key"]
    say(f"\n{key} 督导检查：{view['title']}")
    step("liuyang", key, "notify")
    step("liuyang", key, "start_visit", self_score="91.5", self_report="学校对照评估细则逐项自评，总体达到优秀等次。")
    findings = (
        f'[{{"category": "消防", "description": "教学楼二楼灭火器过期未更换", "location": "教学楼二楼", '
        f'"severity": "一般", "requirement": "立即更换并建立月检记录", "deadline": "{(today - dt.timedelta(days=20)).isoformat()}", '
        f'"dept": "总务处", "person": "周明"}}, '
        f'{{"category": "办学行为", "description": "课后服务收费公示不完整", "severity": "一般", '
        f'"requirement": "完善收费公示并报教育局备案", "deadline": "{(today - dt.timedelta(days=5)).isoformat()}", '
        f'"dept": "教务处", "person": "吴芳"}}]')
    step("liuyang", key, "edit", findings=findings, lessons="8", interviews="24", forums="3", surveys="320",
         score="89", conclusion="通过", overall="学校办学规范，管理有序，存在个别安全和收费公示问题。")
    step("liuyang", key, "submit")
    step("lina", key, "forward", "督导报告事实清楚，同意报请审定。")
    step("wangqiang", key, "approve", "同意出具督导意见书。")
    step("chenjing", key, "publish", "", notice_issued=today.isoformat(),
         report_due=(today + dt.timedelta(days=30)).isoformat())
    step("liuyang", key, "close_finding", "复查已更换全部灭火器。", findings__1__status="已销号",
         findings__1__closed_on=today.isoformat(), findings__1__verifier="刘洋")
    return key


def _clean_school(engine, step, say, today) -> str:
    scores = [("A1", "组织领导", "14"), ("A2", "制度建设与权力运行", "18.5"), ("A3", "清廉教育与文化", "19"),
              ("A4", "五清作风", "18"), ("A5", "监督与问题整改", "14"), ("A6", "特色创新", "8.5")]
    values = {
        "school": "某某县城关中学", "stage": "初中", "level": "市级", "tier": "示范校", "batch": today.year,
        "contact": "校办 王老师", "self_report": "学校建立小微权力清单，推进校务公开，开展清廉文化进校园活动。",
        "self_scores": [{"code": c, "indicator": t, "score": s} for c, t, s in scores],
        "veto_items": [{"item": "班子成员违纪违法受处分", "hit": False},
                       {"item": "发生重大师德失范事件", "hit": False},
                       {"item": "发生重大安全责任事故", "hit": False}],
        "evidence": "自评报告；小微权力清单；校务公开台账；清廉文化活动记录",
    }
    view = engine.create("zhangwei", "clean_school", values=values)
    key = view["key"]
    say(f"\n{key} 清廉学校认定：{view['title']}")
    step("zhangwei", key, "submit")
    step("lina", key, "forward", "材料齐全，同意推荐。", county_opinion="申报材料齐全，自评属实，同意推荐参加市级评估。",
         county_rank="1")
    # The 公示 period must be over before naming; the rehearsal uses a period that ended yesterday.
    step("wangqiang", key, "approve", "评估通过，进入公示。", city_team="市清廉学校评估组（5人）",
         city_date=(today - dt.timedelta(days=12)).isoformat(), city_score="92", city_opinion="达到示范校标准。",
         publicity_start=(today - dt.timedelta(days=8)).isoformat(),
         publicity_end=(today - dt.timedelta(days=1)).isoformat())
    step("chenjing", key, "publish", "", naming_date=today.isoformat())
    return key
