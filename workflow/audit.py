"""Audit: verify the hash chain, the stored documents and the items against the events;
Merkle checkpoints (RFC 9162: leaf sha256(0x00‖e), node sha256(0x01‖l‖r)) that an auditor
keeps outside the system, and the consistency of today's log with an earlier checkpoint.

Without a checkpoint, deleting the newest events leaves a valid shorter chain: only a root
kept elsewhere can show it. verify says so every time it runs without one."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from . import chain

EVENT_COLUMNS = ("id, item_id, item_key, seq, transition, from_state, to_state, actor, actor_roles, "
                 "comment, changes, data, time, definition_hash, prev_hash, hash")
CHECKPOINT_RE = re.compile(r"gongwen-checkpoint v1 size=(\d+) root=([0-9a-f]{64})")
TRUNCATION_NOTE = ("without an earlier checkpoint, deleting the newest events cannot be detected: "
                   "keep the line printed by `gongwen audit checkpoint` outside the system")


@dataclass
class Problem:
    kind: str
    message: str
    item: str | None = None
    seq: int | None = None
    event_id: int | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class VerifyReport:
    events: int = 0
    items: int = 0
    blobs: int = 0
    root: str = ""
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "items": self.items, "blobs": self.blobs,
                "root": self.root, "problems": [p.as_dict() for p in self.problems], "notes": self.notes}


# -- Merkle tree (RFC 9162) ---------------------------------------------------------------------
def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def merkle_root(leaves: list[bytes]) -> str:
    """MTH over leaf hashes, level by level; an odd last node moves up unchanged, which gives
    the same tree as RFC 9162's split at the largest power of two below n."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = leaves
    while len(level) > 1:
        paired = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()


def checkpoint_line(size: int, root: str, made_at: str) -> str:
    return f"gongwen-checkpoint v1 size={size} root={root} at={made_at}"


def parse_checkpoint(text: str) -> tuple[int, str]:
    from .errors import BadInput

    match = CHECKPOINT_RE.search(text)
    if not match:
        raise BadInput("not a gongwen checkpoint (expected a line `gongwen-checkpoint v1 size=N root=HEX ...`)")
    return int(match.group(1)), match.group(2)


# -- reading ------------------------------------------------------------------------------------
def event_rows(connection, where: str = "", params: tuple = ()):
    """Raw event rows in log order (the DB-API cursor: the stored text, nothing parsed)."""
    cursor = connection.exec_driver_sql(f"SELECT {EVENT_COLUMNS} FROM events {where} ORDER BY id", params)
    while True:
        rows = cursor.fetchmany(10000)
        if not rows:
            return
        yield from rows


# -- verify -------------------------------------------------------------------------------------
def verify(db, checkpoint: tuple[int, str] | None = None) -> VerifyReport:
    report = VerifyReport()
    problems = report.problems
    leaves, prev = [], chain.GENESIS
    last: dict[int, tuple] = {}  # item id -> (seq, to_state, key)
    referenced: set[str] = set()
    body, link, sha = chain.body_from_row, bytes.fromhex, hashlib.sha256
    with db.engine.connect() as connection:
        for (event_id, item_id, key, seq, transition, from_state, to_state, actor, roles, comment, changes,
             data, time, definition, prev_hash, stored) in event_rows(connection):
            if prev_hash != prev:
                problems.append(Problem("chain_broken", "the chain breaks before this event: an event was "
                                        "deleted, inserted or moved here", key, seq, event_id))
            computed = sha(link(prev_hash) + body(key, seq, transition, from_state, to_state, actor, roles,
                                                  comment, changes, data, time, definition)).hexdigest()
            if computed != stored:
                problems.append(Problem("event_altered", "the event's content does not match its hash: it was "
                                        "edited after it was written", key, seq, event_id))
            before = last.get(item_id)
            if (before[0] if before else 0) + 1 != seq:
                problems.append(Problem("sequence_gap", f"event {seq} follows event {before[0] if before else 0} "
                                        "of this item: events are missing or out of order", key, seq, event_id))
            last[item_id] = (seq, to_state, key)
            if '"sha256"' in data:
                _referenced(data, referenced)
            leaves.append(leaf_hash(link(stored)))
            prev = stored
        report.events = len(leaves)
        report.root = merkle_root(leaves)
        for item_id, key, state in connection.exec_driver_sql("SELECT id, key, state FROM items ORDER BY id"):
            report.items += 1
            final = last.get(item_id)
            if final is None:
                problems.append(Problem("item_without_events", "the item has no history", key))
            elif final[1] != state:
                problems.append(Problem("item_state", f"the item is in {state!r} but its last event left it in "
                                        f"{final[1]!r}: the state was changed outside the workflow", key))
        stored_blobs, damaged = set(), {}
        for digest, data in connection.exec_driver_sql("SELECT sha256, data FROM blobs"):
            report.blobs += 1
            stored_blobs.add(digest)
            if hashlib.sha256(bytes(data)).hexdigest() != digest:
                damaged[digest] = Problem("document_altered", f"the stored bytes of document {digest[:16]} no "
                                          "longer match their sha256")
        for digest in sorted(referenced - stored_blobs):
            damaged[digest] = Problem("document_missing", f"document {digest[:16]} named by the history is missing")
        if damaged:
            _name_documents(connection, damaged)
            problems.extend(damaged.values())
    if checkpoint is None:
        report.notes.append(TRUNCATION_NOTE)
    else:
        size, root = checkpoint
        if size > len(leaves):
            problems.append(Problem("log_truncated", f"the checkpoint covers {size} events but the log now has "
                                    f"{len(leaves)}: the newest events were deleted"))
        elif merkle_root(leaves[:size]) != root:
            problems.append(Problem("log_rewritten", f"the first {size} events no longer give the checkpoint's "
                                    "root: history was rewritten (even if the chain was recomputed)"))
        else:
            report.notes.append(f"consistent with the checkpoint: the log only grew ({size} → {len(leaves)} events)")
    return report


def _referenced(data_text: str, into: set) -> None:
    data = json.loads(data_text)
    for doc in data.get("documents") or []:
        into.update(doc[k] for k in ("sha256", "template_sha256", "context_sha256") if doc.get(k))
    if data.get("form", {}).get("sha256"):
        into.add(data["form"]["sha256"])


def _name_documents(connection, damaged: dict) -> None:
    """Say which item and event each damaged document belongs to."""
    for (_id, _item, key, seq, *_middle, data, _time, _definition, _prev, _hash) in event_rows(connection):
        if '"sha256"' in data:
            names: set = set()
            _referenced(data, names)
            for digest in names & damaged.keys():
                if damaged[digest].item is None:
                    damaged[digest].item, damaged[digest].seq, damaged[digest].event_id = key, seq, _id


def make_checkpoint(db, login: str, when: str) -> dict:
    from .models import Checkpoint

    with db.engine.connect() as connection:
        leaves = [leaf_hash(bytes.fromhex(row[0]))
                  for row in connection.exec_driver_sql("SELECT hash FROM events ORDER BY id")]
    root = merkle_root(leaves)
    with db.write() as session:
        session.add(Checkpoint(size=len(leaves), root=root, made_at=when, made_by=login))
    return {"size": len(leaves), "root": root, "at": when, "line": checkpoint_line(len(leaves), root, when)}
