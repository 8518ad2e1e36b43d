"""Who acted, proven: the fold of the @users events (users, roles and keys over time) checked
against the users, user_roles and user_keys tables, every event's signature checked against the
key registered for its signer at that moment, and every role an event claims checked against the
roles its actor held then.

Events before the upgrade to signed events (the @users `schema_upgrade` marker) belong to an
older release and carry no signature; verify counts them in a note. Every other event must be
signed. Checking signatures is the costly part (libsodium: about 16,000 a second on one core of
the machines measured), so it runs in forked processes over id ranges, like the chain scan."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit import fold
from workflow.audit.eventlog import Problem, event_batches
from workflow.audit.eventlog import text as _text
from workflow.errors import BadInput
from workflow.identity.keys import event_message, parse_public_line, verify_signature

ADMIN = "admin"


@dataclass
class Key:
    login: str
    raw: bytes
    line: str
    added: int  # the event that registered it
    revoked: int | None = None  # the event that revoked it


@dataclass
class Users:
    """The fold of the @users stream."""
    people: dict[str, dict[str, Any]] = field(default_factory=dict)  # login -> name, title, roles (set)
    timeline: dict[str, tuple[list[int], list[frozenset[str]]]] = field(default_factory=dict)  # roles after event id
    keys: dict[str, Key] = field(default_factory=dict)  # fingerprint -> key
    signed_from: int = 0  # events with a smaller id are the older release's, and the upgrade marker
    marker: int = 0  # the upgrade marker's id (0: none, a log signed from its first event)
    problems: list[Problem] = field(default_factory=list)

    def roles_at(self, login: str, event_id: int) -> frozenset[str]:
        """The roles `login` held just before event `event_id`."""
        ids, sets = self.timeline.get(login, ([], []))
        at = bisect.bisect_left(ids, event_id)
        return sets[at - 1] if at else frozenset()

    def set_roles(self, login: str, event_id: int, roles: set[str]) -> None:
        ids, sets = self.timeline.setdefault(login, ([], []))
        ids.append(event_id)
        sets.append(frozenset(roles))


def fold_users(connection: Connection) -> Users:
    """Replay the @users stream in order, checking that each change was made by an admin of that
    moment (or is the bootstrap: the first admin adding themself with the key that signs it)."""
    users = Users()
    rows = connection.exec_driver_sql(
        "SELECT id, seq, transition, actor, data, signer FROM events WHERE item_id IS NULL AND item_key = '@users' "
        "ORDER BY id").all()
    for event_id, seq, kind, actor, data_text, signer in rows:
        kind, actor, signer = _text(kind), _text(actor), _text(signer) if signer is not None else None
        try:
            data = json.loads(_text(data_text))
        except ValueError:
            continue  # the event hash no longer matches: the chain scan reports it
        where = ("@users", seq, event_id)
        if kind == "schema_upgrade":
            if users.people or users.keys:
                users.problems.append(Problem("upgrade_misplaced", "an upgrade marker after users were recorded: "
                                              "events before it would pass as unsigned", *where))
                continue
            users.signed_from, users.marker = event_id + 1, event_id
            for person in data.get("users") or []:
                users.people[person["login"]] = {"name": person.get("name", ""), "title": person.get("title", ""),
                                                 "roles": set(person.get("roles") or [])}
                users.set_roles(person["login"], event_id, set(person.get("roles") or []))
            continue
        login = str(data.get("login", ""))
        admin_now = ADMIN in users.roles_at(actor, event_id)
        bootstrap = kind == "user_add" and not users.people and actor == login and ADMIN in (data.get("roles") or [])
        claim = (kind == "key_add" and actor == login and admin_now and not users.keys
                 and signer == data.get("fingerprint"))
        if not (admin_now or bootstrap):
            users.problems.append(Problem("not_admin", f"{actor} changed users ({kind} {login}) without holding "
                                          "the admin role at that moment", *where))
        if kind == "user_add":
            users.people[login] = {"name": data.get("name", ""), "title": data.get("title", ""),
                                   "roles": set(data.get("roles") or [])}
            users.set_roles(login, event_id, set(data.get("roles") or []))
        elif kind in ("role_grant", "role_revoke") and login in users.people:
            held = users.people[login]["roles"]
            held = held | set(data.get("roles") or []) if kind == "role_grant" else held - set(data.get("roles") or [])
            users.people[login]["roles"] = held
            users.set_roles(login, event_id, held)
        if kind in ("user_add", "key_add") and data.get("key"):
            _add_key(users, login, data, event_id, where, bootstrap or claim)
        if kind == "key_revoke" and data.get("fingerprint") in users.keys:
            users.keys[data["fingerprint"]].revoked = event_id
    return users


def _add_key(users: Users, login: str, data: dict[str, Any], event_id: int, where: tuple, self_signed: bool) -> None:
    try:
        key = parse_public_line(str(data["key"]))
    except BadInput:
        users.problems.append(Problem("key_invalid", f"the key registered for {login} is not a valid key line", *where))
        return
    for other in users.keys.values():
        if other.login == login and other.revoked is None:
            other.revoked = event_id  # a new key replaces the one before
    # a self-signed registration is valid for its own event; any other from the next one on
    users.keys[key.fingerprint] = Key(login, key.raw, key.line, event_id if self_signed else event_id + 1)


def check_tables(connection: Connection, users: Users, problems: list[Problem]) -> None:
    """The users, user_roles and user_keys tables against the fold."""
    rows = {(_text(login)): (_text(name), _text(title)) for login, name, title in
            connection.exec_driver_sql("SELECT login, name, title FROM users")}
    roles: dict[str, set[str]] = {}
    for login, role in connection.exec_driver_sql("SELECT login, role FROM user_roles"):
        roles.setdefault(_text(login), set()).add(_text(role))
    for login in sorted(set(rows) | set(users.people)):
        person = users.people.get(login)
        if person is None:
            problems.append(Problem("user_unrecorded", f"user {login} is in the database but no event added them",
                                    login))
            continue
        if login not in rows:
            problems.append(Problem("user_missing", f"user {login} was added by an event but is not in the database",
                                    login))
            continue
        if rows[login] != (person["name"], person["title"]):
            problems.append(Problem("user_altered", f"user {login}'s name or post differs from the events", login))
        held, recorded = roles.get(login, set()), person["roles"]
        for role in sorted(held - recorded):
            problems.append(Problem("role_unrecorded", f"{login} holds the role {role!r} in the database but no "
                                    "event granted it", login))
        for role in sorted(recorded - held):
            problems.append(Problem("role_missing", f"{login} was granted the role {role!r} but the database "
                                    "no longer holds it", login))
    stored = {_text(fp): (_text(login), _text(line), revoked) for fp, login, line, revoked in
              connection.exec_driver_sql("SELECT fingerprint, login, public_key, revoked_event FROM user_keys")}
    for fp in sorted(set(stored) | set(users.keys)):
        key = users.keys.get(fp)
        if key is None:
            problems.append(Problem("key_unrecorded", f"a key of {stored[fp][0]} ({fp}) is in the database but no "
                                    "event registered it", stored[fp][0]))
        elif fp not in stored:
            problems.append(Problem("key_missing", f"the key {fp} of {key.login} registered by an event is "
                                    "missing from the database", key.login))
        elif (stored[fp][0] != key.login or stored[fp][1] != key.line
              or (stored[fp][2] is None) != (key.revoked is None)):
            problems.append(Problem("key_altered", f"the key {fp} is recorded for {key.login}"
                                    + (" and revoked" if key.revoked else "") + " by the events, not as stored",
                                    key.login))


# -- signatures and roles, over the whole log ------------------------------------------------
SIGNED_COLUMNS = ("id, item_key, seq, actor, actor_roles, hash, signature, signer, item_id, changes, "
                  + fold.NUMBERS_DATA)
Checked = tuple[int, int, list[Problem], fold.Fold]  # legacy events, signatures checked, problems, the items' fold


def check_range(url: str, low: int, high: int, users: Users, signatures: bool) -> Checked:
    """(unsigned legacy events, signatures checked, problems) for events low..high, on its own
    connection (a forked worker)."""
    from workflow.store.db import Database

    db = Database(url)
    try:
        with db.read() as session:
            return _check_rows(session.connection(), low, high, users, signatures)
    finally:
        db.dispose()


def _check_rows(connection: Connection, low: int, high: int, users: Users, signatures: bool = True) -> Checked:
    """One pass over events low..high: signatures, roles claimed, and the items' fold."""
    legacy = checked = 0
    problems: list[Problem] = []
    items: fold.Fold = {}
    role_lists: dict[Any, frozenset[str]] = {}
    keys, roles_at, signed_from = users.keys, users.roles_at, users.signed_from
    for batch in event_batches(connection, "WHERE id >= ? AND id <= ?", (low, high), columns=SIGNED_COLUMNS):
        for event_id, key, seq, actor, roles_text, digest, signature, signer, item_id, changes, numbers in batch:
            if item_id is not None:
                fold.accumulate(items, item_id, seq, changes, numbers, event_id)
            if event_id < signed_from:
                legacy += event_id != users.marker
                continue
            found = keys.get(signer) if signer is not None else None
            if found is None or signature is None or (found.login != actor and not (
                    item_id is not None and _entered_by(connection, event_id) == found.login)):
                problems.append(_signer_problem(found, actor, signature, signer, (key, seq, event_id)))
            elif not (found.added <= event_id and (found.revoked is None or event_id < found.revoked)):
                problems.append(Problem("key_not_valid", f"signed with {found.login}'s key {signer}, which was "
                                        "not registered (or already revoked) at that moment", key, seq, event_id))
            elif signatures and not verify_signature(found.raw, event_message(digest), signature):
                problems.append(Problem("signature_invalid", f"the signature of {actor} does not verify: the event "
                                        "or its signature was altered", key, seq, event_id))
            checked += signatures
            if item_id is not None:
                claimed = role_lists.get(roles_text)
                if claimed is None:
                    claimed = role_lists[roles_text] = frozenset(_roles(roles_text)) - {"owner"}
                if claimed and not claimed <= roles_at(actor, event_id):
                    missing = ", ".join(sorted(claimed - roles_at(actor, event_id)))
                    problems.append(Problem("role_not_held", f"{actor} acted with the role(s) {missing} without "
                                            "holding them at that moment", key, seq, event_id))
    return legacy, checked, problems, items


def _signer_problem(found: Key | None, actor: str, signature: Any, signer: Any, where: tuple) -> Problem:
    if signature is None or signer is None:
        return Problem("unsigned", f"the event by {actor} carries no signature", *where)
    if found is None:
        return Problem("signer_unknown", f"signed with a key no event registered ({signer})", *where)
    return Problem("signed_by_other", f"the event names {actor} but is signed with the key of {found.login}", *where)


def _roles(text: Any) -> list[str]:
    try:
        found = json.loads(_text(text))
    except ValueError:
        return []
    return [r for r in found if isinstance(r, str)] if isinstance(found, list) else []


def _entered_by(connection: Connection, event_id: int) -> str | None:
    """Who entered a returned form on the actor's behalf (ingest), from the event's data."""
    data = connection.exec_driver_sql(f"SELECT data FROM events WHERE id = {int(event_id)}").scalar()
    try:
        form = json.loads(_text(data)).get("form") or {}
    except (ValueError, AttributeError):
        return None
    entered = form.get("ingested_by") if isinstance(form, dict) else None
    return entered if isinstance(entered, str) else None


def check_events(db: Any, connection: Connection, users: Users, workers: int,
                 signatures: bool = True) -> Checked:
    """Every event's signature and roles, in `workers` forked processes over id ranges."""
    low, high = connection.exec_driver_sql("SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)").one()
    if low is None:
        return 0, 0, [], {}
    if workers <= 1:
        return _check_rows(connection, low, high, users, signatures)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    step = -(-(high - low + 1) // workers)
    bounds = [(a, min(a + step - 1, high)) for a in range(low, high + 1, step)]
    with ProcessPoolExecutor(len(bounds) - 1, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(check_range, db.url, a, b, users, signatures) for a, b in bounds[:-1]]
        results = [_check_rows(connection, *bounds[-1], users, signatures)]
        results = [f.result() for f in futures] + results
    return (sum(r[0] for r in results), sum(r[1] for r in results), [p for r in results for p in r[2]],
            fold.merge([r[3] for r in results]))
