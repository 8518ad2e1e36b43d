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
from itertools import compress, repeat
from operator import itemgetter, ne
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit import deactivation, delegations, fold
from workflow.audit import timers as tick_rules
from workflow.audit.eventlog import Problem
from workflow.audit.eventlog import text as _text
from workflow.errors import BadInput
from workflow.identity import formsig
from workflow.identity.keys import event_message, parse_public_line, verify_signature

ADMIN = "admin"
OFFICE = "office"  # who may enter a decision on the signer's behalf (代录)


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
    delegations: dict[int, Any] = field(default_factory=dict)  # id -> delegations.Given: the fold of 委托 events
    inactive: dict[str, list[list[int]]] = field(default_factory=dict)  # login -> deactivation.fold's periods

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
        if kind in delegations.KINDS:  # given by the principal or an admin: checked there
            delegations.fold(users, kind, actor, data, event_id, where)
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
                                   "unit": data.get("unit", ""), "roles": set(data.get("roles") or [])}
            users.set_roles(login, event_id, set(data.get("roles") or []))
        elif kind in ("role_grant", "role_revoke") and login in users.people:
            held = users.people[login]["roles"]
            held = held | set(data.get("roles") or []) if kind == "role_grant" else held - set(data.get("roles") or [])
            users.people[login]["roles"] = held
            users.set_roles(login, event_id, held)
        elif kind in deactivation.KINDS:
            deactivation.fold(users.inactive, kind, login, event_id)
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
    """The users, user_roles, user_keys and delegations tables against the fold."""
    delegations.check_table(connection, users, problems)
    deactivation.check_table(connection, users.inactive, problems)
    rows = {(_text(login)): (_text(name), _text(title), _text(unit)) for login, name, title, unit in
            connection.exec_driver_sql("SELECT login, name, title, unit FROM users")}
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
        if rows[login] != (person["name"], person["title"], person.get("unit", "")):
            problems.append(Problem("user_altered", f"user {login}'s name, post or unit differs from the events",
                                    login))
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


# -- signatures, keys and roles, in the chain scan's loop ---------------------------------------
class EventCheck:
    """Called by eventlog.scan with each batch of rows (SCAN_COLUMNS, text as bytes): each event's
    signer and signature against the keys registered then, the roles it claims against those its
    actor held then, and the items' fold (fields and numbers from the events that change them, and
    each item's last data). Run in each process of a parallel scan; what it found comes back with
    its Scan. `vouched_to`: events up to this id have signatures an earlier verify checked (a
    checkpoint vouches for them), so only their keys and roles are checked."""

    def __init__(self, users: Users, signatures: bool = True, vouched_to: int = 0) -> None:
        self.users: Users | None = users
        self.signatures, self.vouched_to = signatures, vouched_to
        self.legacy = self.checked = 0
        self.problems: list[Problem] = []
        self.items: fold.Fold = {}
        self.last_data: dict[Any, Any] = {}  # item id -> its last event's data (bytes), then (version, title)
        self._keys = {fp.encode(): key for fp, key in users.keys.items()}
        self._valid: dict[tuple[bytes, bytes], tuple[int, int]] = {}  # (signer, actor) -> ids where it may sign
        self._held: dict[tuple[bytes, bytes], tuple[float, float]] = {}  # (actor, roles) -> ids where they were held

    def __call__(self, rows: list[Any]) -> None:
        users = self.users
        assert users is not None
        signed_from, marker, valid, held = users.signed_from, users.marker, self._valid, self._held
        verify_from = self.vouched_to + 1 if self.signatures else float("inf")
        self.last_data.update(zip(map(_ITEM_ID, rows), map(_DATA, rows)))
        self._fold(rows)
        for index in tick_rules.verify_rows(rows, 11, 15):  # the system user: timers, 催办, 督办 only
            self.problems.append(Problem("system_event", f"{_text(rows[index][0])} recorded {_text(rows[index][11])}:"
                                         " only gongwen tick (the system user) records 催办/督办 events, and "
                                         "only on items", *_where(rows[index])))
        if self._settled(rows):  # every signer and role of the batch known good for its whole id span
            if rows[-1][14] >= verify_from:
                self._verify(rows, verify_from)
            return
        for row in rows:
            try:
                actor, changes, data, roles, event_id, item_id, signature, signer = _CHECKED(row)
                if event_id < signed_from:
                    self.legacy += event_id != marker
                    continue
                span = valid.get((signer, actor))
                if signature is None or span is None or not span[0] <= event_id < span[1]:
                    span = self._signer_span(row)
                    if span is None:
                        continue
                if event_id >= verify_from:
                    self._verify([row], verify_from)
                if item_id is not None and delegations.MARK in data:  # acting for someone: its own check
                    self.problems.extend(delegations.check_event(users, row, _where(row)))
                elif item_id is not None and roles != b'["owner"]':
                    holds = held.get((actor, roles))
                    if holds is None or not holds[0] <= event_id < holds[1]:
                        self._check_roles(row)
            except (TypeError, AttributeError, ValueError):
                continue  # a value of the wrong type: its hash no longer matches, which the chain scan reports

    def _fold(self, rows: list[Any]) -> None:
        """The events that change fields or draw numbers, into the items' fold."""
        try:  # most batches draw no number: then only the rows whose changes are not {} (picked in C)
            if b'"numbers":{"' in b"\n".join(map(_DATA, rows)):
                changing = [r for r in rows if r[1] != b"{}" or b'"numbers":{"' in r[3]]
            else:
                changing = list(compress(rows, map(ne, map(_CHANGES, rows), repeat(b"{}"))))
        except TypeError:  # a value of the wrong type: row by row
            changing = [r for r in rows if r[1] != b"{}" or (isinstance(r[3], bytes) and b'"numbers":{"' in r[3])]
        for row in changing:
            if row[15] is not None:
                numbered = isinstance(row[3], bytes) and b'"numbers":{"' in row[3]
                fold.accumulate(self.items, row[15], row[1], row[3] if numbered else None)

    def _settled(self, rows: list[Any]) -> bool:
        """Whether the batch needs no look at each event: all signed after the upgrade, and each
        (signer, actor) and (actor, roles) in it already known valid from its first id to its last."""
        assert self.users is not None
        first, last = rows[0][14], rows[-1][14]
        if not (first.__class__ is int and last.__class__ is int and first >= self.users.signed_from):
            return False
        if None in map(_SIGNATURE, rows) or None in map(_ITEM_ID, rows):
            return False
        if delegations.MARK in b"\n".join(map(_DATA, rows)):  # an event acting under a delegation: row by row
            return False
        for pair in set(zip(map(_SIGNER, rows), map(_ACTOR, rows))):
            span = self._valid.get(pair)
            if span is None or not (span[0] <= first and last < span[1]):
                return False
        for pair in set(zip(map(_ACTOR, rows), map(_ROLES, rows))):
            if pair[1] != b'["owner"]':
                holds = self._held.get(pair)
                if holds is None or not (holds[0] <= first and last < holds[1]):
                    return False
        return True

    def _verify(self, rows: list[Any], verify_from: float) -> None:
        """Each signature from event `verify_from` on, with its signer's key (known valid then)."""
        keys = self._keys
        for row in rows:
            if row[14] >= verify_from:
                self.checked += 1
                if not verify_signature(keys[row[17]].raw, event_message(row[13]), row[16]):
                    self.problems.append(Problem("signature_invalid", f"the signature of {_text(row[0])} does not "
                                                 "verify: the event or its signature was altered", *_where(row)))

    def _signer_span(self, row: Any) -> tuple[int, int] | None:
        """The ids in which the row's signer may sign for its actor (cached for the next rows), or
        None after recording why this event's signature does not count."""
        actor, event_id, signer, signature = row[0], row[14], row[17], row[16]
        found = self._keys.get(signer) if signer is not None else None
        if found is None or signature is None:
            self.problems.append(_signer_problem(found, _text(actor), signature, signer, _where(row)))
            return None
        if found.login != _text(actor):
            form = _form(row[3]) if row[15] is not None else None
            if form is None or form.get("ingested_by") != found.login:
                self.problems.append(_signer_problem(found, _text(actor), signature, signer, _where(row)))
                return None
            self._check_entry(row, form, found.login)  # a form applied on the actor's behalf: not cached
        elif found.added <= event_id and (found.revoked is None or event_id < found.revoked):
            span = deactivation.clip(self.users.inactive if self.users else {}, found.login, event_id,
                                     (found.added, found.revoked or 1 << 62), self.problems, _where(row))
            if span is not None:
                self._valid[(signer, actor)] = span
            return span
        if not (found.added <= event_id and (found.revoked is None or event_id < found.revoked)):
            self.problems.append(Problem("key_not_valid", f"signed with {found.login}'s key {_text(signer)}, which "
                                         "was not registered (or already revoked) at that moment", *_where(row)))
            return None
        return (event_id, event_id + 1)

    def _check_roles(self, row: Any) -> None:
        assert self.users is not None
        actor, roles_text, event_id = _text(row[0]), row[7], row[14]
        claimed = frozenset(_roles(roles_text)) - {"owner"}
        ids, sets = self.users.timeline.get(actor, ([], []))
        at = bisect.bisect_left(ids, event_id)
        now = sets[at - 1] if at else frozenset()
        if claimed <= now:  # held from the change before this event to the next change
            self._held[(row[0], roles_text)] = (ids[at - 1] + 1 if at else float("-inf"),
                                                ids[at] + 1 if at < len(ids) else float("inf"))
        else:
            missing = ", ".join(sorted(claimed - now))
            self.problems.append(Problem("role_not_held", f"{actor} acted with the role(s) {missing} without "
                                         "holding them at that moment", *_where(row)))

    def _check_entry(self, row: Any, form: dict[str, Any], clerk: str) -> None:
        """A decision applied from a returned form by someone else than the actor: signed on the
        form by the actor's key valid then, or entered (代录) by a user holding the office role."""
        assert self.users is not None
        actor, event_id = _text(row[0]), row[14]
        if form.get("auth") != "signed":
            if OFFICE not in self.users.roles_at(clerk, event_id):
                self.problems.append(Problem("entered_without_role", f"{clerk} entered {actor}'s decision (代录) "
                                             "without holding the office role at that moment", *_where(row)))
            return
        found = form.get("signature")
        recorded: dict[str, Any] = found if isinstance(found, dict) else {}
        signed, key = recorded.get("statement"), self.users.keys.get(str(recorded.get("key")))
        valid = (key is not None and key.login == actor and key.added <= event_id
                 and (key.revoked is None or event_id < key.revoked))
        consistent = (isinstance(signed, dict) and signed.get("signer") == actor
                      and signed.get("transition") == _text(row[11])
                      and signed.get("opinion") == " ".join(_text(row[2]).split())
                      and str(signed.get("form", "")).startswith(_text(row[6]) + "#"))
        if not (valid and consistent and key is not None and isinstance(signed, dict)
                and (not self.signatures or formsig.verifies(key.raw, signed, str(recorded.get("sig"))))):
            self.problems.append(Problem("form_signature_invalid", f"the decision applied for {actor} by {clerk} "
                                         f"does not carry {actor}'s valid signature over it", *_where(row)))

    def finish(self) -> EventCheck:
        """Ready to travel back from a worker: each item's last data reduced to (version, title)."""
        self.users = None
        self._keys, self._valid, self._held = {}, {}, {}
        self.last_data.pop(None, None)
        self.last_data = {item: fold.version_title(data) for item, data in self.last_data.items()}
        return self

    @staticmethod
    def merge(parts: list[EventCheck]) -> tuple[int, int, list[Problem], fold.Fold, dict[Any, Any]]:
        """(legacy events, signatures checked, problems, items' fold, last (version, title)) of the
        consecutive parts of the log."""
        last: dict[Any, Any] = {}
        for part in parts:
            last.update(part.last_data)
        return (sum(p.legacy for p in parts), sum(p.checked for p in parts), [x for p in parts for x in p.problems],
                fold.merge([p.items for p in parts]), last)


_CHECKED = itemgetter(0, 1, 3, 7, 14, 15, 16, 17)  # actor, changes, data, roles, id, item id, signature, signer
_ITEM_ID, _DATA, _SIGNATURE, _SIGNER = itemgetter(15), itemgetter(3), itemgetter(16), itemgetter(17)
_ACTOR, _ROLES, _CHANGES = itemgetter(0), itemgetter(7), itemgetter(1)


def _where(row: Any) -> tuple[str, Any, Any]:
    return _text(row[6]), row[8], row[14]


def _signer_problem(found: Key | None, actor: str, signature: Any, signer: Any, where: tuple) -> Problem:
    if signature is None or signer is None:
        return Problem("unsigned", f"the event by {actor} carries no signature", *where)
    if found is None:
        return Problem("signer_unknown", f"signed with a key no event registered ({_text(signer)})", *where)
    return Problem("signed_by_other", f"the event names {actor} but is signed with the key of {found.login}", *where)


def _roles(text: Any) -> list[str]:
    try:
        found = json.loads(_text(text))
    except ValueError:
        return []
    return [r for r in found if isinstance(r, str)] if isinstance(found, list) else []


def _form(data: Any) -> dict[str, Any] | None:
    """The returned form an event's data records (ingest), if any."""
    try:
        form = json.loads(_text(data)).get("form")
    except (ValueError, AttributeError):
        return None
    return form if isinstance(form, dict) else None
