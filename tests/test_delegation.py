"""Issue 14, part 4: delegation (委托/代办). The 局长 (wangqiang, supervisor) hands 签发 to a user
without that role for a period; inside it the delegate signs on his behalf (the event, `show` and
`history` say so, with the delegation's number), outside it or after `undelegate` the delegate
is refused role_missing; separation of duties holds for the delegate and for the principal;
giving and ending are signed events of the chain, `audit verify` folds them and names each
tamper; the listing shows the delegations in force; bad inputs are one line, their exit code and
reason, and change nothing. SQLite and PostgreSQL, like every workspace test."""

from __future__ import annotations

import json

import pytest
from helpers import fire, plan_values, snapshot, sql
from test_ingest import signed, write

from workflow.audit import replay as audit_replay
from workflow.audit import verify as audit_verify
from workflow.engine import admin

UNTIL = "2025-03-14"  # the clock is 2025-03-10 09:00 (helpers.NOW)


def ok(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if result.stdout.startswith("{") else {}


def refused(gw, workspace, args, code, reason, fragment="", env=None) -> str:
    """The command is one line, its exit code and reason, and changes nothing."""
    before = snapshot(workspace)
    human = gw(*args, env=env)
    assert human.exit_code == code, human.output
    lines = human.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in human.output, human.output
    assert fragment in lines[0], lines[0]
    result = gw("--json", *args, env=env)
    assert result.exit_code == code
    assert json.loads(result.stdout)["error"]["reason"] == reason, result.stdout
    assert snapshot(workspace) == before
    return lines[0]


def at_approve(engine, creator="zhangwei") -> str:
    """A plan item waiting for 签发."""
    key = engine.create(creator, "plan", values=plan_values()).key
    fire(engine, creator, key, "submit")
    fire(engine, "lina", key, "forward")
    return key


def last_seq(engine, key) -> int:
    return engine.history("zhaomin", key).history[-1].seq


def delegate(gw, *args, by="wangqiang") -> dict:
    return ok(gw("--json", "--as", by, "users", "delegate", *args))


def verify(gw) -> tuple[int, dict]:
    result = gw("--json", "--as", "zhaomin", "audit", "verify")
    return result.exit_code, json.loads(result.stdout)


def kinds(report: dict) -> set[tuple]:
    return {(p["kind"], p.get("item"), p.get("seq")) for p in report["problems"]}


# -- acting on behalf of the principal -----------------------------------------------------------
def test_the_delegate_signs_for_the_局长_inside_the_period(gw, workspace, engine):
    key = at_approve(engine)
    refused(gw, workspace, ["--as", "chenjing", "do", key, "approve"], 1, "role_missing", "chenjing lacks the role")
    given = delegate(gw, "wangqiang", "chenjing", "--role", "supervisor", "--until", UNTIL, "-m", "局长外出学习")
    assert {k: given[k] for k in ("principal", "delegate", "roles", "from", "until", "reason", "in_force")} == {
        "principal": "wangqiang", "delegate": "chenjing", "roles": ["supervisor"], "from": "2025-03-10",
        "until": UNTIL, "reason": "局长外出学习", "in_force": True}
    number = given["id"]

    # the delegate sees the principal's work and may do it
    lists = ok(gw("--json", "--as", "chenjing", "worklist"))
    assert key in [i["key"] for wl in lists["worklists"] if wl["worklist"] == "to_approve" for i in wl["items"]]
    shown = ok(gw("--json", "--as", "chenjing", "show", key))
    assert "approve" in [a["id"] for a in shown["allowed"]]
    done = gw("--as", "chenjing", "do", key, "approve", "-m", "同意印发")
    assert done.exit_code == 0, done.output

    event = ok(gw("--json", "--as", "zhaomin", "show", key))["history"][-1]
    assert (event["transition"], event["actor"], event["signed_by"], event["signature"]) == \
        ("approve", "chenjing", "chenjing", "valid")
    assert event["roles"] == ["office", "supervisor"]
    assert event["data"]["delegation"] == {"id": number, "principal": "wangqiang", "roles": ["supervisor"]}
    history = gw("--as", "zhaomin", "history", key).stdout
    assert f"chenjing on behalf of wangqiang under delegation #{number} [office,supervisor]  approve (签发)" in history

    # the office publishes as usual; the whole history verifies and replays
    fire(engine, "chenjing", key, "publish", issue_date="2025-03-10", copies="30")
    code, report = verify(gw)
    assert code == 0, report["problems"]
    assert audit_replay.replay(workspace).anomalies == []


def test_outside_the_period_and_after_undelegate_it_is_refused(gw, workspace, engine):
    key = at_approve(engine)
    number = delegate(gw, "wangqiang", "lina", "--until", UNTIL, "-m", "休假")["id"]  # all his roles: supervisor
    later = {"GONGWEN_NOW": "2025-03-15T09:00:00"}
    refused(gw, workspace, ["--as", "lina", "do", key, "approve"], 1, "role_missing", "lina lacks the role", env=later)
    assert ok(gw("--json", "--as", "lina", "users", "delegations", env=later)) == {"delegations": []}
    # a delegation that starts later is not in force yet
    ok(gw("--as", "wangqiang", "users", "undelegate", str(number), "-m", "提前返岗"))
    future = delegate(gw, "wangqiang", "lina", "--from", "2025-03-12", "--until", UNTIL, "-m", "出差")
    assert future["in_force"] is False
    refused(gw, workspace, ["--as", "lina", "do", key, "approve"], 1, "role_missing", "lina lacks the role")
    inside = {"GONGWEN_NOW": "2025-03-12T09:00:00"}
    assert gw("--as", "lina", "do", key, "approve", env=inside).exit_code == 0
    # after undelegate (by the delegate themself): refused again
    other = at_approve(engine)
    ok(gw("--as", "lina", "users", "undelegate", str(future["id"]), env=inside))
    refused(gw, workspace, ["--as", "lina", "do", other, "approve"], 1, "role_missing", env=inside)
    code, report = verify(gw)
    assert code == 0, report["problems"]


def test_a_role_revoked_from_the_principal_is_no_longer_delegated(gw, workspace, engine):
    key = at_approve(engine)
    delegate(gw, "wangqiang", "chenjing", "--until", UNTIL, "-m", "休假")
    admin.manage_users(workspace, "admin", "revoke", "wangqiang", ["supervisor"])
    refused(gw, workspace, ["--as", "chenjing", "do", key, "approve"], 1, "role_missing")


def test_separation_of_duties_holds_for_the_delegate_and_the_principal(gw, workspace, engine):
    # the delegate drafted the item
    mine = at_approve(engine, creator="zhangwei")
    delegate(gw, "wangqiang", "zhangwei", "--until", UNTIL, "-m", "休假")
    refused(gw, workspace, ["--as", "zhangwei", "do", mine, "approve"], 1, "separation_of_duties",
            "zhangwei created on this item")
    # the principal drafted the item
    his = at_approve(engine, creator="wangqiang")
    delegate(gw, "wangqiang", "chenjing", "--until", UNTIL, "-m", "休假")
    line = refused(gw, workspace, ["--as", "chenjing", "do", his, "approve"], 1, "separation_of_duties",
                   "wangqiang created on this item")
    assert "acting for wangqiang under delegation #" in line


MINI = """\
id: twostep
title: 两步审批
key_prefix: TS
initial: draft
roles:
  supervisor: 签发人
  reviewer: 复核人
fields:
  title: {type: text, label: 标题}
states:
  draft: {title: 起草}
  signed: {title: 已签}
  done: {title: 完成, final: true}
transitions:
  sign: {title: 签批, from: [draft], to: signed, roles: [supervisor]}
  check: {title: 复核, from: [signed], to: done, roles: [reviewer], distinct_from: [sign]}
"""


def test_the_principal_counts_as_an_actor_of_the_step_done_for_them(gw, workspace, engine):
    (workspace.definitions_dir / "twostep.yaml").write_text(MINI, encoding="utf-8")
    admin.manage_users(workspace, "admin", "grant", "wangqiang", ["reviewer"])
    key = engine.create("zhangwei", "twostep", title="两步").key
    delegate(gw, "wangqiang", "chenjing", "--role", "supervisor", "--until", UNTIL, "-m", "休假")
    assert gw("--as", "chenjing", "do", key, "sign").exit_code == 0
    refused(gw, workspace, ["--as", "wangqiang", "do", key, "check"], 1, "separation_of_duties",
            "wangqiang did sign on this item")
    assert gw("--as", "lina", "do", key, "check").exit_code == 0
    code, report = verify(gw)
    assert code == 0, report["problems"]
    assert audit_replay.replay(workspace).anomalies == []


def test_a_form_signed_by_the_delegate_is_entered_for_them(gw, workspace, engine, tmp_path):
    """The 发文稿纸 signed by 李娜 for the 局长, entered (代录) by the office: the same delegation."""
    key = engine.create("zhangwei", "plan", values=plan_values(copies=30)).key
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "boss", key, "forward")
    path = write(tmp_path, "form.docx", signed(engine, workspace, key, signer="李娜"))
    before = gw("--json", "--as", "chenjing", "ingest", str(path))
    assert before.exit_code == 1 and json.loads(before.stdout)["results"][0]["reason"] == "role_missing"
    number = delegate(gw, "wangqiang", "lina", "--role", "supervisor", "--until", UNTIL, "-m", "休假")["id"]
    applied = gw("--json", "--as", "chenjing", "ingest", str(path))
    assert applied.exit_code == 0, applied.output
    event = ok(gw("--json", "--as", "zhaomin", "show", key))["history"][-1]
    assert (event["actor"], event["entry"], event["data"]["delegation"]["id"]) == ("lina", "entered", number)
    code, report = verify(gw)
    assert code == 0, report["problems"]


# -- events, listing, audit ----------------------------------------------------------------------
def test_giving_and_ending_are_events_and_the_listing_shows_those_in_force(gw, workspace):
    first = delegate(gw, "wangqiang", "lina", "--until", UNTIL, "-m", "休假")
    second = delegate(gw, "zhangwei", "chenjing", "--role", "clerk", "--until", "2025-03-11", "-m", "出差", by="admin")
    ok(gw("--as", "chenjing", "users", "undelegate", str(second["id"]), "-m", "已返岗"))
    rows = sql(workspace, "SELECT transition, actor, to_state, data FROM events WHERE item_key = '@users' "
                          "AND transition LIKE 'delegat%' ORDER BY id")
    assert [(r[0], r[1], r[2]) for r in rows] == [("delegate", "wangqiang", "wangqiang"),
                                                  ("delegate", "admin", "zhangwei"),
                                                  ("delegation_end", "chenjing", "zhangwei")]
    assert json.loads(rows[0][3]) == {"login": "wangqiang", "id": first["id"], "delegate": "lina",
                                      "roles": ["supervisor"], "from": "2025-03-10", "until": UNTIL,
                                      "reason": "休假"}
    signers = sql(workspace, "SELECT signature FROM events WHERE transition LIKE 'delegat%'")
    assert all(s for (s,) in signers)
    listed = ok(gw("--json", "--as", "zhaomin", "users", "delegations"))["delegations"]
    assert [d["id"] for d in listed] == [first["id"]]
    every = ok(gw("--json", "--as", "zhaomin", "users", "delegations", "--all"))["delegations"]
    assert [(d["id"], d["in_force"], d["ended_event"] is not None) for d in every] == \
        [(first["id"], True, False), (second["id"], False, True)]
    text = gw("--as", "zhaomin", "users", "delegations").stdout
    assert "wangqiang" in text and "lina" in text and "supervisor" in text and "zhangwei" not in text
    code, report = verify(gw)
    assert code == 0, report["problems"]


def test_a_delegation_row_inserted_by_sql_and_used_is_named(gw, workspace, engine):
    key = at_approve(engine)
    sql(workspace, "INSERT INTO delegations (id, principal, delegate, roles, starts, ends, reason, given_event, "
                   "ended_event) VALUES (7, 'wangqiang', 'lina', '[\"supervisor\"]', '2025-03-01', '2025-03-31', "
                   "'x', NULL, NULL)")
    assert gw("--as", "lina", "do", key, "approve").exit_code == 0  # lina's own key: only the audit can tell
    code, report = verify(gw)
    assert code == 1
    assert kinds(report) == {("delegation_unrecorded", "wangqiang", None),
                             ("delegation_unknown", key, last_seq(engine, key))}, report["problems"]
    one, three = audit_verify.verify(workspace.db, workers=1), audit_verify.verify(workspace.db, workers=3)
    assert [p.to_json() for p in three.problems] == [p.to_json() for p in one.problems]  # forked parts alike


def test_acting_under_an_ended_delegation_is_named(gw, workspace, engine):
    key = at_approve(engine)
    number = delegate(gw, "wangqiang", "lina", "--until", UNTIL, "-m", "休假")["id"]
    ok(gw("--as", "wangqiang", "users", "undelegate", str(number)))
    [(ended,)] = sql(workspace, "SELECT ended_event FROM delegations WHERE id = :n", n=number)
    sql(workspace, "UPDATE delegations SET ended_event = NULL WHERE id = :n", n=number)
    assert gw("--as", "lina", "do", key, "approve").exit_code == 0
    code, report = verify(gw)
    assert code == 1 and ("delegation_altered", "wangqiang", None) in kinds(report)
    sql(workspace, "UPDATE delegations SET ended_event = :e WHERE id = :n", e=ended, n=number)  # covered up
    code, report = verify(gw)
    assert code == 1
    assert kinds(report) == {("delegation_not_in_force", key, last_seq(engine, key))}, report["problems"]


def test_an_edited_delegation_or_claim_is_named(gw, workspace, engine):
    key = at_approve(engine)
    number = delegate(gw, "wangqiang", "lina", "--until", UNTIL, "-m", "休假")["id"]
    assert gw("--as", "lina", "do", key, "approve").exit_code == 0
    sql(workspace, "UPDATE delegations SET ends = '2025-12-31' WHERE id = :n", n=number)
    code, report = verify(gw)
    assert code == 1 and kinds(report) == {("delegation_altered", "wangqiang", None)}, report["problems"]
    sql(workspace, "UPDATE delegations SET ends = :u WHERE id = :n", u=UNTIL, n=number)
    seq = last_seq(engine, key)
    sql(workspace, "UPDATE events SET data = REPLACE(data, '\"principal\":\"wangqiang\"', '\"principal\":\"boss\"') "
                   "WHERE item_key = :k AND seq = :s", k=key, s=seq)
    code, report = verify(gw)
    assert code == 1 and ("event_altered", key, seq) in kinds(report), report["problems"]


# -- bad inputs: one line, the exit code and reason, nothing changed -----------------------------
BAD = [
    ("self", ["--as", "wangqiang", "users", "delegate", "wangqiang", "wangqiang", "--until", UNTIL, "-m", "x"], 4,
     "bad_delegation", "cannot delegate to themself"),
    ("end_before_start", ["--as", "wangqiang", "users", "delegate", "wangqiang", "lina", "--from", "2025-03-14",
                          "--until", "2025-03-12", "-m", "x"], 4, "bad_delegation", "before it starts"),
    ("end_in_the_past", ["--as", "wangqiang", "users", "delegate", "wangqiang", "lina", "--until", "2025-03-01",
                         "-m", "x"], 4, "bad_delegation", "would end in the past"),
    ("start_in_the_past", ["--as", "wangqiang", "users", "delegate", "wangqiang", "lina", "--from", "2025-03-01",
                           "--until", UNTIL, "-m", "x"], 4, "bad_delegation", "would start in the past"),
    ("unknown_principal", ["--as", "admin", "users", "delegate", "ghost", "lina", "--until", UNTIL, "-m", "x"], 4,
     "not_found", "unknown user 'ghost'"),
    ("unknown_delegate", ["--as", "wangqiang", "users", "delegate", "wangqiang", "ghost", "--until", UNTIL, "-m",
                          "x"], 4, "not_found", "unknown user 'ghost'"),
    ("role_not_held", ["--as", "wangqiang", "users", "delegate", "wangqiang", "lina", "--role", "office", "--until",
                       UNTIL, "-m", "x"], 4, "bad_delegation", "does not hold the role 'office'"),
    ("admin_role", ["--as", "admin", "users", "delegate", "admin", "lina", "--role", "admin", "--until", UNTIL,
                    "-m", "x"], 4, "bad_delegation", "the role 'admin' cannot be delegated"),
    ("nothing_to_delegate", ["--as", "admin", "users", "delegate", "admin", "lina", "--until", UNTIL, "-m", "x"],
     4, "bad_delegation", "holds no workflow role"),
    ("someone_else", ["--as", "lina", "users", "delegate", "wangqiang", "lina", "--until", UNTIL, "-m", "x"], 1,
     "role_missing", "lina may not delegate wangqiang's roles"),
    ("bad_date", ["--as", "wangqiang", "users", "delegate", "wangqiang", "lina", "--until", "next week", "-m", "x"],
     4, "bad_value", "--until 'next week' is not a date"),
    ("empty_reason", ["--as", "wangqiang", "users", "delegate", "wangqiang", "lina", "--until", UNTIL, "-m", " "],
     4, "bad_delegation", "needs its reason"),
    ("undelegate_unknown", ["--as", "admin", "users", "undelegate", "99"], 4, "not_found", "no delegation #99"),
    ("undelegate_huge", ["--as", "admin", "users", "undelegate", "99999999999999999999"], 4, "not_found",
     "no delegation #"),
    ("undelegate_ended", ["--as", "admin", "users", "undelegate", "{ended}"], 4, "bad_delegation",
     "was already ended"),
    ("undelegate_by_someone_else", ["--as", "zhaomin", "users", "undelegate", "{open}"], 1, "role_missing",
     "zhaomin may not end delegation"),
]


@pytest.mark.parametrize("name, args, code, reason, fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_inputs_change_nothing(gw, workspace, name, args, code, reason, fragment):
    ended = delegate(gw, "wangqiang", "lina", "--until", UNTIL, "-m", "休假")["id"]
    ok(gw("--as", "wangqiang", "users", "undelegate", str(ended)))
    still = delegate(gw, "wangqiang", "chenjing", "--until", UNTIL, "-m", "休假")["id"]
    args = [a.replace("{ended}", str(ended)).replace("{open}", str(still)) for a in args]
    refused(gw, workspace, args, code, reason, fragment)


@pytest.mark.parametrize("args, fragment", [
    (["users", "delegate", "wangqiang", "lina", "-m", "x"], "Missing option '--until'"),
    (["users", "delegate", "wangqiang", "lina", "--until", UNTIL], "Missing option '-m'"),
    (["users", "undelegate", "abc"], "not a valid integer"),
], ids=["no_until", "no_reason", "id_not_a_number"])
def test_usage_errors(gw, workspace, args, fragment):
    before = snapshot(workspace)
    result = gw("--as", "wangqiang", *args)
    assert result.exit_code == 2 and fragment in result.stderr, result.output
    assert snapshot(workspace) == before
