"""Approvals only the signer can give: a decision on a returned form is authenticated by the
signer's own signature on the form (`gongwen sign`), by the signer applying it themself, or entered
on their behalf (代录) by an office user who had no part in the item, recorded and shown as such.
Every refusal leaves the database and the documents exactly as they were."""

from __future__ import annotations

import json
import subprocess

import helpers
import pytest
from helpers import snapshot
from lxml import etree
from test_ingest import (
    DATE,
    OPINIONS,
    assert_refused,
    files_under,
    ingest_json,
    rewrite,
    set_cell,
    signed,
    the_form,
    to_approve,
    write,
)

from workflow.documents import docprops, office
from workflow.identity import formsig


def sign(gw, path, login="wangqiang", *extra):
    return gw("--as", login, "--json", "sign", path, *extra)


@pytest.fixture
def form(engine, workspace, tmp_path):
    """A plan item at 签发 and its form, filled in by 王强 (同意), not yet signed."""
    key = to_approve(engine)
    return key, write(tmp_path / "returned", "form.docx", signed(engine, workspace, key))


def last_event(engine, key):
    return engine.history("zhaomin", key).history[-1]


# -- who may apply a form ------------------------------------------------------------------------
def refused(gw, workspace, path, login, reason) -> dict:
    """`login` ingesting `path` is refused with `reason` (exit 1), changing nothing."""
    before, files = snapshot(workspace), files_under(workspace.root / "documents")
    result = gw("--as", login, "--json", "ingest", path)
    [row] = json.loads(result.output)["results"]
    assert result.exit_code == 1 and row["reason"] == reason, row
    assert snapshot(workspace) == before and files_under(workspace.root / "documents") == files
    return row


def test_a_form_the_drafter_fills_and_ingests_is_refused(gw, workspace, form):
    _, path = form
    assert "office" in refused(gw, workspace, path, "zhangwei", "role_missing")["message"]


def test_the_drafter_holding_the_office_role_still_may_not_enter_it(gw, workspace, form):
    """Separation of duties holds for the one who enters a decision, too: nor may the reviewer."""
    _, path = form
    for login in ("zhangwei", "lina"):
        assert gw("--as", "admin", "users", "grant", login, "office").exit_code == 0
        assert "代录" in refused(gw, workspace, path, login, "separation_of_duties")["message"]


def test_an_auditors_ingest_is_refused(gw, workspace, form):
    _, path = form
    refused(gw, workspace, path, "zhaomin", "role_missing")


# -- 代录 -----------------------------------------------------------------------------------------
def test_an_office_users_entry_is_recorded_and_shown_as_代录(gw, engine, workspace, form, tmp_path):
    key, path = form
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["auth"] == "entered", row
    event = last_event(engine, key)
    assert (event.actor, event.signed_by, event.entry, event.signature) == ("wangqiang", "chenjing", "entered", "valid")
    assert event.data["form"]["auth"] == "entered" and event.data["form"]["ingested_by"] == "chenjing"
    history = gw("--as", "zhaomin", "history", key).output
    show = gw("--as", "zhaomin", "show", key).output
    for text in (history, show):
        assert "代录: entered on behalf of wangqiang" in text and "signed by chenjing" in text, text
    report = tmp_path / "report.html"
    assert gw("--as", "zhaomin", "audit", "export", "--format", "html", "-o", report).exit_code == 0
    assert "代录：chenjing 录入" in report.read_text(encoding="utf-8")
    code = gw("--as", "zhaomin", "--json", "audit", "verify")
    assert code.exit_code == 0, code.output


def test_an_entry_by_a_user_without_the_office_role_is_named_by_verify(gw, engine, workspace, form):
    """A dishonest reviewer going round ingest (the engine called directly) is caught by verify."""
    key, _ = form
    entry = {"form": {"ingested_by": "lina", "auth": "entered", "signer": "wangqiang"}}
    engine.fire("wangqiang", key, "approve", "同意印发。", entered_by="lina", attach=lambda session, item: entry)
    report = json.loads(gw("--as", "zhaomin", "--json", "audit", "verify").output)
    assert [(p["kind"], p["item"]) for p in report["problems"]] == [("entered_without_role", key)]


# -- signed by the signer -------------------------------------------------------------------------
def test_a_form_signed_with_gongwen_sign_carries_the_verified_signature(gw, engine, workspace, form, tmp_path):
    key, path = form
    result = sign(gw, path)
    assert result.exit_code == 0, result.output
    done = json.loads(result.output)
    assert (done["key"], done["decision"], done["signer"]) == (key, "同意", "wangqiang")
    assert formsig.parse(docprops.read(path.read_bytes())[formsig.PROPERTY])
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["auth"] == "signed", row
    event = last_event(engine, key)
    assert (event.actor, event.signed_by, event.entry, event.form_signature) == \
        ("wangqiang", "chenjing", "signed", "valid")
    statement = event.data["form"]["signature"]["statement"]
    assert (statement["signer"], statement["transition"], statement["opinion"], statement["date"]) == \
        ("wangqiang", "approve", OPINIONS["同意"], DATE)
    assert "signed on the form by wangqiang: form signature verifies" in gw("--as", "zhaomin", "history", key).output
    verified = json.loads(gw("--as", "zhaomin", "--json", "audit", "verify").output)
    assert verified["ok"], verified["problems"]


def test_verify_checks_the_signature_a_signed_entry_claims(gw, engine, workspace, form):
    """A clerk who writes a signed entry through the engine with a made-up signature is named."""
    key, path = form
    assert sign(gw, path).exit_code == 0
    from workflow.forms import ingest, signing

    real = signing.authenticate

    def forged(session, blob, seen, clerk):
        auth = real(session, blob, seen, clerk)
        auth.record["signature"]["statement"] = {**auth.record["signature"]["statement"], "opinion": "同意，不必再议。"}
        return auth

    signing.authenticate = forged
    try:
        ingest.ingest(engine, "chenjing", [path])
    finally:
        signing.authenticate = real
    report = json.loads(gw("--as", "zhaomin", "--json", "audit", "verify").output)
    assert [(p["kind"], p["item"]) for p in report["problems"]] == [("form_signature_invalid", key)]
    assert last_event(engine, key).form_signature == "invalid"


@pytest.mark.parametrize("change", ["decision", "opinion", "date"])
def test_a_decision_changed_after_signing_is_refused(gw, engine, workspace, form, change):
    key, path = form
    assert sign(gw, path).exit_code == 0
    blob = path.read_bytes()
    if change == "decision":
        altered = signed(engine, workspace, key, "退回修改")
        altered = docprops.set_property(altered, formsig.PROPERTY, docprops.read(blob)[formsig.PROPERTY])
    else:
        spec = the_form(engine, workspace, key)[2]
        altered = set_cell(blob, {"opinion": spec.opinion_label, "date": spec.date_label}[change],
                           {"opinion": "同意印发，增印二十份。", "date": "2025年3月11日"}[change])
    path.write_bytes(altered)
    assert_refused(gw, workspace, path, "altered", 1)


def test_a_signature_over_another_form_is_refused(gw, engine, workspace, form, tmp_path):
    key, path = form
    other_key = to_approve(engine)
    other = write(tmp_path / "other", "other.docx", signed(engine, workspace, other_key))
    assert sign(gw, other).exit_code == 0
    moved = docprops.set_property(path.read_bytes(), formsig.PROPERTY,
                                  docprops.read(other.read_bytes())[formsig.PROPERTY])
    path.write_bytes(moved)
    assert_refused(gw, workspace, path, "altered", 1)


def test_a_form_signed_with_a_revoked_key_is_refused(gw, workspace, form):
    _, path = form
    assert sign(gw, path).exit_code == 0
    assert gw("--as", "admin", "users", "revoke-key", "wangqiang").exit_code == 0
    row = assert_refused(gw, workspace, path, "key_revoked", 1)
    assert "revoked" in row["message"]


def test_only_the_signer_named_on_the_form_can_sign_it(gw, workspace, form):
    _, path = form
    before = path.read_bytes()
    result = sign(gw, path, "lina")
    assert result.exit_code == 1 and json.loads(result.output)["error"]["reason"] == "signer_mismatch"
    assert path.read_bytes() == before


def test_a_removed_or_emptied_signature(gw, engine, workspace, form):
    """Emptied, the signature is damaged (refused); taken out, the form is unsigned and can only
    be entered (代录), which a transition that requires the signature refuses (test_definitions)."""
    key, path = form
    assert sign(gw, path).exit_code == 0
    blob = path.read_bytes()
    path.write_bytes(docprops.set_property(blob, formsig.PROPERTY, ""))
    assert_refused(gw, workspace, path, "altered", 1)

    def drop(data):
        root = etree.fromstring(data)
        for prop in [p for p in root if p.get("name") == formsig.PROPERTY]:
            root.remove(prop)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    path.write_bytes(rewrite(blob, {"docProps/custom.xml": drop}))
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["auth"] == "entered", row
    assert last_event(engine, key).entry == "entered"


def test_the_signature_survives_a_libreoffice_resave(gw, engine, workspace, form, tmp_path):
    soffice = helpers.require_soffice()
    key, path = form
    assert sign(gw, path).exit_code == 0
    out = tmp_path / "resaved"
    command = [soffice, "--headless", "--norestore", f"-env:UserInstallation={(tmp_path / 'lo').as_uri()}",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out), str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=office.TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    resaved = out / path.name
    assert resaved.read_bytes() != path.read_bytes()
    assert docprops.read(resaved.read_bytes())[formsig.PROPERTY] == docprops.read(path.read_bytes())[formsig.PROPERTY]
    result, [row] = ingest_json(gw, resaved)
    assert result.exit_code == 0 and row["auth"] == "signed", row
    assert last_event(engine, key).form_signature == "valid"


def test_signature_required_refuses_an_entry_but_takes_a_signed_form(gw, engine, workspace, tmp_path):
    """A definition that marks 签发 `signature: required`: the office's 代录 is refused, naming the
    way to sign; the same form signed by the 局长 is applied."""
    custom = workspace.definitions_dir / "plan.yaml"
    text = custom.read_text(encoding="utf-8")
    marked = text.replace("  approve:\n    title: 签发\n", "  approve:\n    title: 签发\n    signature: required\n", 1)
    assert marked != text
    custom.write_text(marked, encoding="utf-8")
    key = to_approve(engine)
    path = write(tmp_path / "returned", "form.docx", signed(engine, workspace, key))
    row = assert_refused(gw, workspace, path, "signature_required", 1)
    assert "gongwen sign" in row["message"]
    assert sign(gw, path).exit_code == 0
    result, [row] = ingest_json(gw, path)
    assert result.exit_code == 0 and row["auth"] == "signed", row


def test_workflows_validate_checks_the_signature_key(gw, workspace, tmp_path):
    bad = tmp_path / "plan.yaml"
    from workflow.store.workspace import shipped_dir

    text = (shipped_dir("definitions") / "plan.yaml").read_text(encoding="utf-8")
    marked = text.replace("  approve:\n    title: 签发\n", "  approve:\n    title: 签发\n    signature: maybe\n", 1)
    bad.write_text(marked, encoding="utf-8")
    result = gw("workflows", "validate", bad)
    assert result.exit_code == 4 and "signature must be required or optional" in result.output, result.output
    assert f"{bad}:" in result.output
