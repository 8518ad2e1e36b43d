"""Who acts is proven, not asserted: every write needs the acting user's private key on this
account, every event is signed, and `audit verify` folds users, roles, keys and item rows from
the chain and checks every signature. Each refusal leaves the database unchanged; each tamper
is named."""

from __future__ import annotations

import base64
import json

import pytest
from helpers import fire, plan_values, snapshot, sql

from workflow.engine import admin
from workflow.engine.engine import Engine
from workflow.errors import BadInput
from workflow.identity.keyring import KeyRing


def verify(gw, *extra) -> tuple[int, dict]:
    result = gw("--json", "--as", "zhaomin", "audit", "verify", *extra)
    return result.exit_code, json.loads(result.stdout)


def kinds(report: dict) -> set[tuple]:
    return {(p["kind"], p.get("item")) for p in report["problems"]}


@pytest.fixture
def key(engine):
    """A plan item taken to 签发 and 印发: events by four users, a 发文字号 drawn."""
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    for login, transition, sets in (("zhangwei", "submit", {}), ("lina", "forward", {}), ("wangqiang", "approve", {}),
                                    ("chenjing", "publish", {"issue_date": "2025-03-10", "copies": "30"})):
        fire(engine, login, key, transition, **sets)
    return key


@pytest.fixture
def other_account(tmp_path, monkeypatch):
    """Another OS account: its own key folder, holding only zhangwei's key."""
    mine = KeyRing()
    folder = tmp_path / "other-account"
    monkeypatch.setenv("GONGWEN_CONFIG_HOME", str(folder))
    (folder / "keys").mkdir(parents=True)
    source = mine.path("zhangwei")
    (folder / "keys" / "zhangwei").write_bytes(source.read_bytes())
    (folder / "keys" / "zhangwei").chmod(0o600)
    return folder


# -- acting needs the key -------------------------------------------------------------------
@pytest.mark.parametrize("how", ["--as", "GONGWEN_USER"])
def test_acting_as_another_user_without_their_key_is_refused(gw, workspace, key, other_account, how):
    before = snapshot(workspace)
    args, env = (["--as", "wangqiang"], None) if how == "--as" else ([], {"GONGWEN_USER": "wangqiang"})
    for command in (["new", "plan", "--title", "冒名起草"], ["do", key, "return", "-m", "冒名退回"]):
        result = gw("--json", *args, *command, env=env)
        assert result.exit_code == 1
        error = json.loads(result.stdout)["error"]
        assert error["reason"] == "not_authenticated" and "no key of wangqiang on this account" in error["message"]
        assert "gongwen key new" in error["message"]
    assert snapshot(workspace) == before
    # the key this account does hold acts
    assert gw("--as", "zhangwei", "new", "plan", "--title", "本人起草").exit_code == 0


def test_a_key_that_is_not_the_registered_one_is_refused(gw, workspace):
    before = snapshot(workspace)
    KeyRing().create("lina", overwrite=True)  # a new key on this account, never registered
    result = gw("--json", "--as", "lina", "new", "plan", "--title", "x")
    assert result.exit_code == 1
    error = json.loads(result.stdout)["error"]
    assert error["reason"] == "not_authenticated" and "registered with another key" in error["message"]
    assert snapshot(workspace) == before


def test_wrong_passphrase_and_revoked_key_are_one_line_refusals(gw, workspace, monkeypatch):
    line = KeyRing().create("lina", passphrase="正确口令", overwrite=True).line
    assert gw("--as", "admin", "users", "key", "lina", line).exit_code == 0
    before = snapshot(workspace)
    monkeypatch.setenv("GONGWEN_PASSPHRASE", "错误口令")
    wrong = gw("--as", "lina", "new", "plan", "--title", "x")
    assert wrong.exit_code == 1 and wrong.stderr.strip() == (
        f"error: wrong passphrase for the key of lina ({KeyRing().path('lina')})")
    monkeypatch.delenv("GONGWEN_PASSPHRASE")
    missing = gw("--as", "lina", "new", "plan", "--title", "x")
    assert missing.exit_code == 1 and "protected by a passphrase" in missing.stderr
    assert snapshot(workspace) == before
    monkeypatch.setenv("GONGWEN_PASSPHRASE", "正确口令")
    assert gw("--as", "lina", "new", "plan", "--title", "有口令").exit_code == 0
    assert gw("--as", "admin", "users", "revoke-key", "lina").exit_code == 0
    before = snapshot(workspace)
    revoked = gw("--json", "--as", "lina", "new", "plan", "--title", "x")
    assert revoked.exit_code == 1 and json.loads(revoked.stdout)["error"]["reason"] == "not_authenticated"
    assert snapshot(workspace) == before
    code, report = verify(gw)
    assert code == 0, report


def test_private_keys_are_owner_only_and_never_in_the_workspace(workspace):
    path = KeyRing().path("lina")
    assert path.stat().st_mode & 0o777 == 0o600
    assert workspace.root not in path.parents
    text = path.read_text()
    assert text.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    for stored in workspace.root.rglob("*"):
        if stored.is_file() and stored.suffix != ".db":
            assert b"OPENSSH PRIVATE KEY" not in stored.read_bytes()


def test_every_event_is_signed_by_its_actor(workspace, key):
    rows = sql(workspace, "SELECT actor, signer, signature FROM events ORDER BY id")
    keys = KeyRing()
    for actor, signer, signature in rows:
        assert signer == keys.signer(actor).fingerprint and len(base64.b64decode(signature)) == 64


# -- audit verify proves it -----------------------------------------------------------------
def test_a_clean_history_verifies_every_signature(gw, key):
    code, report = verify(gw)
    assert code == 0, report
    assert report["signatures"] == report["events"] > 10


TAMPERS = {
    "role inserted": ("INSERT INTO user_roles (login, role) VALUES ('zhangwei', 'supervisor')",
                      ("role_unrecorded", "zhangwei")),
    "role deleted": ("DELETE FROM user_roles WHERE login = 'lina'", ("role_missing", "lina")),
    "fields edited": ("UPDATE items SET fields = REPLACE(fields, '2025', '2026')", ("item_fields", "JH-2025-0001")),
    "numbers edited": ("UPDATE items SET numbers = REPLACE(numbers, '2025', '2024')", ("item_numbers", "JH-2025-0001")),
    "version edited": ("UPDATE items SET version = version + 1", ("item_version", "JH-2025-0001")),
    "title edited": ("UPDATE items SET title = '另一个标题'", ("item_title", "JH-2025-0001")),
    "user renamed": ("UPDATE users SET name = '王五' WHERE login = 'wangqiang'", ("user_altered", "wangqiang")),
    "user inserted": ("INSERT INTO users (login, name, title, created_at) VALUES ('mole', 'x', '', '2025')",
                      ("user_unrecorded", "mole")),
}


@pytest.mark.parametrize("case", sorted(TAMPERS))
def test_verify_names_each_tamper(gw, workspace, key, case):
    statement, expected = TAMPERS[case]
    if not workspace.db.is_sqlite:  # json columns: edit their text
        for column in ("fields", "numbers"):
            statement = statement.replace(f"{column} = REPLACE({column}, '2025', '2026')",
                                          f"{column} = REPLACE({column}::text, '2025', '2026')::json")
            statement = statement.replace(f"{column} = REPLACE({column}, '2025', '2024')",
                                          f"{column} = REPLACE({column}::text, '2025', '2024')::json")
    sql(workspace, statement)
    code, report = verify(gw)
    assert code == 1
    assert expected in kinds(report), report["problems"]


def test_a_replaced_registered_key_is_named(gw, workspace, key):
    other = KeyRing().signer("zhaomin").public
    sql(workspace, "UPDATE user_keys SET public_key = :line WHERE login = 'wangqiang'", line=other.line)
    code, report = verify(gw)
    assert code == 1 and ("key_altered", "wangqiang") in kinds(report)


def test_an_altered_signature_is_named(gw, workspace, key):
    [(event_id, signature)] = sql(workspace, "SELECT id, signature FROM events WHERE item_key = :k AND seq = 4", k=key)
    forged = base64.b64encode(bytes(64 - 1) + b"\x01").decode()
    assert forged != signature
    sql(workspace, "UPDATE events SET signature = :s WHERE id = :id", s=forged, id=event_id)
    code, report = verify(gw)
    assert code == 1
    [problem] = report["problems"]
    assert (problem["kind"], problem["item"], problem["seq"]) == ("signature_invalid", key, 4)


def test_an_event_re_signed_with_another_users_key_is_named(gw, workspace, key):
    """The forger holds lina's key and signs the 局长's 签发 with it: a valid signature by the wrong key."""
    [(event_id, digest)] = sql(workspace, "SELECT id, hash FROM events WHERE item_key = :k AND seq = 4", k=key)
    lina = KeyRing().signer("lina")
    sql(workspace, "UPDATE events SET signature = :s, signer = :f WHERE id = :id",
        s=lina.sign_event(digest), f=lina.fingerprint, id=event_id)
    code, report = verify(gw)
    assert code == 1
    [problem] = report["problems"]
    assert problem["kind"] == "signed_by_other" and problem["seq"] == 4
    assert "names wangqiang but is signed with the key of lina" in problem["message"]


def test_a_role_claimed_but_not_held_is_named(gw, workspace, engine):
    """A role row slipped in by SQL, used by its (genuine, signing) holder, then removed: the event
    claims a role its actor never held in the chain."""
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    for login, transition in (("zhangwei", "submit"), ("lina", "forward"), ("wangqiang", "approve")):
        fire(engine, login, key, transition)
    sql(workspace, "INSERT INTO user_roles (login, role) VALUES ('lina', 'office')")
    fire(engine, "lina", key, "publish", issue_date="2025-03-10", copies="30")
    sql(workspace, "DELETE FROM user_roles WHERE login = 'lina' AND role = 'office'")
    code, report = verify(gw)
    assert code == 1
    [problem] = report["problems"]
    assert (problem["kind"], problem["item"], problem["seq"]) == ("role_not_held", key, 5)
    assert "lina acted with the role(s) office without holding them" in problem["message"]
    admin.manage_users(workspace, "admin", "revoke", "wangqiang", ["supervisor"])
    assert verify(gw)[1]["problems"] == [problem]  # a role revoked later was held at the time: no new problem


def test_a_decision_entered_for_someone_needs_the_returned_form(workspace, engine, gw):
    """代录 goes through ingest, which records the form (and who entered it) in the event: verify
    accepts the clerk's signature on the 局长's decision only there (the demo and test_ingest)."""
    key = engine.create("zhangwei", "plan", values=plan_values()).key
    fire(engine, "zhangwei", key, "submit")
    fire(engine, "lina", key, "forward")
    before = snapshot(workspace)
    with pytest.raises(BadInput, match="needs the returned form"):
        engine.fire("wangqiang", key, "approve", entered_by="chenjing")
    assert snapshot(workspace) == before


def test_users_roles_and_keys_are_events_in_the_chain(workspace):
    rows = sql(workspace, "SELECT transition, actor, to_state FROM events WHERE item_key = '@users' ORDER BY id")
    assert rows[0] == ("user_add", "admin", "admin")
    assert {r[2] for r in rows[1:]} == {login for login, *_ in __import__("helpers").USERS}
    assert all(r[1] == "admin" for r in rows)


def test_an_engine_without_keys_writes_nothing(workspace, monkeypatch, tmp_path):
    monkeypatch.setenv("GONGWEN_CONFIG_HOME", str(tmp_path / "empty"))
    before = snapshot(workspace)
    with pytest.raises(Exception) as raised:
        Engine(workspace).create("zhangwei", "plan", values=plan_values())
    assert getattr(raised.value, "reason", None) == "not_authenticated"
    assert snapshot(workspace) == before


BAD_KEY_LINES = {
    "not a key": "hello",
    "unsupported algorithm": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ comment",
    "not base64": "ssh-ed25519 !!!notbase64!!! lina@gongwen",
    "truncated": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI lina@gongwen",
    "another algorithm inside": "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ lina@gongwen",
}


@pytest.mark.parametrize("case", sorted(BAD_KEY_LINES))
def test_a_bad_key_line_is_one_line_and_changes_nothing(gw, workspace, case):
    before = snapshot(workspace)
    for args in (["users", "key", "lina", BAD_KEY_LINES[case]],
                 ["users", "add", "sunli", "--role", "inspector", "--key", BAD_KEY_LINES[case]]):
        result = gw("--as", "admin", *args)
        assert result.exit_code == 4, result.output
        assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert snapshot(workspace) == before


def test_a_second_key_for_the_same_login_needs_force(gw, workspace):
    before = KeyRing().path("lina").read_bytes()
    result = gw("--json", "key", "new", "--login", "lina")
    assert result.exit_code == 4 and json.loads(result.stdout)["error"]["reason"] == "key_exists"
    assert KeyRing().path("lina").read_bytes() == before
    bad = gw("--json", "key", "new", "--login", "../escape")
    assert bad.exit_code == 4 and json.loads(bad.stdout)["error"]["reason"] == "bad_login"


def test_a_verified_checkpoint_vouches_for_its_signatures(gw, workspace, engine, key):
    """`audit verify --root` prints a line whose signed= covers the signatures it checked; a later
    verify given it checks only the newer signatures, unless one before it was changed since."""
    code, first = verify(gw, "--root")
    assert code == 0 and " signed=" in first["line"], first
    fire(engine, "zhangwei", engine.create("zhangwei", "plan", values=plan_values()).key, "submit")
    code, later = verify(gw, "--checkpoint", first["line"])
    assert code == 0, later
    assert later["signatures"] == later["events"] - first["events"] == 2
    assert any("vouches for the signatures" in note for note in later["notes"]), later["notes"]
    # a signature before the checkpoint replaced: the line no longer vouches, and every one is checked
    [(event_id,)] = sql(workspace, "SELECT id FROM events WHERE item_key = :k AND seq = 3", k=key)
    sql(workspace, "UPDATE events SET signature = :s WHERE id = :id",
        s=base64.b64encode(bytes(63) + b"\x01").decode(), id=event_id)
    code, tampered = verify(gw, "--checkpoint", first["line"])
    assert code == 1 and tampered["signatures"] == tampered["events"]
    assert [(p["kind"], p["seq"]) for p in tampered["problems"]] == [("signature_invalid", 3)]
    # the structural check passes (it reads no signature), and its line vouches for none
    code, structural = verify(gw, "--root", "--no-signatures")
    assert code == 0 and " signed=" not in structural["line"] and structural["signatures"] == 0


@pytest.mark.parametrize("workers, batch", [(1, 5000), (3, 5000), (1, 2), (3, 2)])
def test_signatures_roles_and_items_are_checked_alike_in_parallel(workspace, key, workers, batch, monkeypatch):
    """The checks of who acted run inside the chain scan, in each process of a parallel scan; with
    small batches, most batches take the path where every signer and role is already known good,
    and the items are checked in forked processes too."""
    from workflow.audit import eventlog, fold
    from workflow.audit.verify import verify as run_verify

    monkeypatch.setattr(eventlog, "BATCH_ROWS", batch)
    monkeypatch.setattr(fold, "PARALLEL_ITEMS", 0 if workers > 1 else fold.PARALLEL_ITEMS)
    engine = Engine(workspace)
    for _ in range(3):  # more items and events: batches with every signer and role already settled
        fire(engine, "zhangwei", engine.create("zhangwei", "plan", values=plan_values()).key, "submit")
    [(other_id, digest)] = sql(workspace, "SELECT id, hash FROM events WHERE item_key = :k AND seq = 4", k=key)
    lina = KeyRing().signer("lina")  # 签发 re-signed with another user's key, inside a settled batch
    sql(workspace, "UPDATE events SET signature = :s, signer = :f WHERE id = :id",
        s=lina.sign_event(digest), f=lina.fingerprint, id=other_id)
    sql(workspace, "DELETE FROM user_roles WHERE login = 'lina'")
    sql(workspace, "UPDATE items SET version = version + 1")
    [(event_id,)] = sql(workspace, "SELECT id FROM events WHERE item_key = :k AND seq = 5", k=key)
    sql(workspace, "UPDATE events SET signature = :s WHERE id = :id", s=base64.b64encode(bytes(64)).decode(),
        id=event_id)
    report = run_verify(workspace.db, workers=workers)
    assert sorted((p.kind, p.item) for p in report.problems) == sorted(
        [("role_missing", "lina"), ("signature_invalid", key), ("signed_by_other", key)]
        + [("item_version", k) for (k,) in sql(workspace, "SELECT key FROM items")])
    assert report.signatures == report.events - 1  # all but the one signed by another's key
