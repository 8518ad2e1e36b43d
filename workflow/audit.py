"""Audit: verify the hash chain, the stored documents and the items against the events;
Merkle checkpoints (RFC 9162: leaf sha256(0x00‖e), node sha256(0x01‖l‖r)) that an auditor
keeps outside the system, and the consistency of today's log with an earlier checkpoint.

Without a checkpoint, deleting the newest events leaves a valid shorter chain: only a root
kept elsewhere can show it. verify says so every time it runs without one."""

from __future__ import annotations

import binascii
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from operator import itemgetter

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


def _subtrees(leaves: list[bytes], start: int) -> list[tuple[int, int, bytes]]:
    """The leaves at positions start, start + 1, ... of the log as the largest aligned perfect
    subtrees that cover them, in order: (level, index at that level, root)."""
    found, position, end, sha = [], start, start + len(leaves), hashlib.sha256
    while position < end:
        level = 0
        while position % (2 << level) == 0 and position + (2 << level) <= end:
            level += 1
        nodes = leaves[position - start:position - start + (1 << level)]
        while len(nodes) > 1:
            nodes = [sha(b"\x01" + nodes[i] + nodes[i + 1]).digest() for i in range(0, len(nodes), 2)]
        found.append((level, position >> level, nodes[0]))
        position += 1 << level
    return found


def _root_of(subtrees) -> str:
    """merkle_root from the subtrees of consecutive parts of the log (which may come from several
    processes): siblings are joined as they come, then the peaks fold from the right (RFC 9162)."""
    stack, sha = [], hashlib.sha256
    for node in subtrees:
        stack.append(node)
        while len(stack) > 1 and stack[-1][0] == stack[-2][0] and stack[-2][1] % 2 == 0:
            (level, _, right), (_, index, left) = stack.pop(), stack.pop()
            stack.append((level + 1, index // 2, sha(b"\x01" + left + right).digest()))
    if not stack:
        return merkle_root([])
    root = stack[-1][2]
    for _, _, peak in reversed(stack[:-1]):
        root = sha(b"\x01" + peak + root).digest()
    return root.hex()


def _odd_leaf(stored) -> bytes:
    """The leaf of an event whose stored hash is not hexadecimal (it differs from any real one)."""
    return leaf_hash(b"\xff" + (stored if isinstance(stored, bytes) else str(stored).encode()))


def checkpoint_line(size: int, root: str, made_at: str) -> str:
    return f"gongwen-checkpoint v1 size={size} root={root} at={made_at}"


def parse_checkpoint(text: str) -> tuple[int, str]:
    from .errors import BadInput

    match = CHECKPOINT_RE.search(text)
    if not match:
        raise BadInput("not a gongwen checkpoint (expected a line `gongwen-checkpoint v1 size=N root=HEX ...`)")
    return int(match.group(1)), match.group(2)


# -- reading ------------------------------------------------------------------------------------
def event_rows(connection, where: str = "", params: tuple = (), raw: bool = False):
    """Event rows in log order, straight from the DB-API cursor (the stored text, nothing
    parsed). `where` uses `?` placeholders. With raw=True the text columns come as their UTF-8
    bytes, the bytes the hash covers (on SQLite without ever decoding them)."""
    for rows in event_batches(connection, where, params, raw):
        yield from rows


def event_batches(connection, where: str = "", params: tuple = (), raw: bool = False):
    """event_rows, a list of up to 5,000 rows at a time."""
    dbapi = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    if connection.dialect.paramstyle != "qmark":
        where = where.replace("?", "%s")
    saved = dbapi.text_factory if raw and sqlite else None
    cursor = dbapi.cursor()
    try:
        if saved is not None:
            dbapi.text_factory = bytes
        cursor.execute(f"SELECT {EVENT_COLUMNS} FROM events {where} ORDER BY id", params)
        while True:
            rows = cursor.fetchmany(5000)
            if not rows:
                return
            if raw and not sqlite:
                rows = [tuple(v.encode() if isinstance(v, str) else v for v in row) for row in rows]
            yield rows
    finally:
        cursor.close()
        if saved is not None:
            dbapi.text_factory = saved


# -- verify -------------------------------------------------------------------------------------
# chain.body_from_row over bytes: the quoted fields go in as they are when they hold nothing that
# JSON escapes (checked per row; other rows take chain.body_from_row itself).
BODY = (b'%s{"actor":"%s","changes":%s,"comment":"%s","data":%s,"definition":"%s","from":%s,"item":"%s",'
        b'"roles":%s,"seq":%d,"time":"%s","to":"%s","transition":"%s"}')
NEEDS_ESCAPE = re.compile(rb'[\x00-\x1f\\"]')
DIGEST_REF = re.compile(rb'sha256":"([^"]{0,64})"')  # candidates; _referenced decides when one is missing
RANK = {"chain_broken": 0, "event_altered": 1, "sequence_gap": 2}
PARALLEL_FROM = 50_000  # events; below this, starting other processes gains little


@dataclass
class Scan:
    """What one pass over a range of events found (the whole log, or one worker's part)."""
    start: int = 0  # the position of the range's first event in the log
    count: int = 0
    subtrees: list = field(default_factory=list)  # _subtrees of its leaf hashes
    prefix: list = field(default_factory=list)  # _subtrees of those before a checkpoint's size ending here
    problems: list = field(default_factory=list)
    first_row: tuple = ()  # (prev_hash, key, seq, event id) of the range's first event
    last_hash: bytes = b""
    first: dict = field(default_factory=dict)  # item id -> (seq, key, event id): its first event here
    last: dict = field(default_factory=dict)  # item id -> (seq, to_state, key): its last event here
    refs: set = field(default_factory=set)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _unhex(text) -> bytes | None:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, TypeError, ValueError):
        return None


def _exact_body(row) -> bytes | None:
    """The canonical body of an odd row (escaped characters, NULLs, a seq that is not an integer)."""
    (_id, _item, key, seq, transition, from_state, to_state, actor, roles, comment, changes, data, time,
     definition, prev_hash, _hash) = row
    try:
        text = [v.decode() if isinstance(v, bytes) else v if v is None else str(v)  # strict: bad UTF-8 never matches
                for v in (key, transition, from_state, to_state, actor, roles, comment, changes, data, time,
                          definition)]
        body = chain.body_from_row(text[0], seq, *text[1:])
        prev = _unhex(prev_hash)
        return None if prev is None else prev + body
    except (TypeError, AttributeError, ValueError):
        return None  # a NULL or a broken value where the writer puts text: it cannot match the hash


QUOTED = itemgetter(7, 9, 13, 2, 12, 6, 4)  # actor, comment, definition, item, time, to, transition
FROM, SEQ, DATA, HASHES = itemgetter(5), itemgetter(3), itemgetter(11), itemgetter(14, 15)
SAFE = bytes(0 if b < 0x20 or b in b'"\\' else 1 for b in range(256))  # 0: a byte JSON escapes


def _plain(rows) -> bool:
    """Whether every row of a batch suits BODY: its quoted fields bytes holding nothing JSON escapes
    (from_state may be NULL), its seq an integer, its hashes 64 lowercase hex digits. Checked for
    the whole batch at once, in C."""
    try:
        text = b"".join(itertools.chain.from_iterable(map(QUOTED, rows))) + b"".join(filter(None, map(FROM, rows)))
        hashes = b"".join(itertools.chain.from_iterable(map(HASHES, rows)))
    except TypeError:
        return False
    return (b"\x00" not in text.translate(SAFE) and set(map(type, map(SEQ, rows))) == {int}
            and len(hashes) == 128 * len(rows) and not hashes.translate(None, b"0123456789abcdef"))


def _scan(batches, start: int = 0, size: int | None = None) -> Scan:
    """The hot loop of verify: hash chain, event hashes, sequence per item, referenced digests,
    leaf hashes, over batches of raw rows (text as bytes), the first at position `start`.
    `size`: a checkpoint's size, whose prefix root needs the subtrees up to it."""
    scan = Scan(start)
    problems, leaves, last, first, refs = scan.problems, [], scan.last, scan.first, scan.refs
    sha, unhex, find_refs = hashlib.sha256, binascii.unhexlify, DIGEST_REF.findall
    add_leaf, previous, previous_raw, stored = leaves.append, None, None, b""
    for rows in batches:
        plain = _plain(rows)
        try:
            refs.update(find_refs(b"\n".join(filter(None, map(DATA, rows)))))
        except TypeError:  # a value that is not text: row by row
            refs.update(*(find_refs(d) for d in map(DATA, rows) if isinstance(d, bytes)))
        for row in rows:
            (event_id, item_id, key, seq, transition, from_state, to_state, actor, roles, comment, changes, data,
             time, definition, prev_hash, stored) = row
            if previous is None:  # the range's first event: verify links it to the one before
                scan.first_row, prev_raw = (prev_hash, key, seq, event_id), None
            elif prev_hash == previous:
                prev_raw = previous_raw
            else:
                prev_raw = None
                problems.append(Problem("chain_broken", "the chain breaks before this event: an event was "
                                        "deleted, inserted or moved here", _text(key), seq, event_id))
            if plain:  # every value of the batch is well formed: BODY, and digests compared as bytes
                raw = unhex(stored)
                altered = sha(BODY % (prev_raw or unhex(prev_hash), actor, changes, comment, data, definition,
                                      b'"' + from_state + b'"' if from_state is not None else b"null",
                                      key, roles, seq, time, to_state, transition)).digest() != raw
            else:
                raw, altered = _odd_row(row)
            if altered:
                problems.append(Problem("event_altered", "the event's content does not match its hash: it was "
                                        "edited after it was written", _text(key), seq, event_id))
            before = last.get(item_id)
            if before is None:
                first[item_id] = (seq, key, event_id)
            elif not (seq.__class__ is int and before[0].__class__ is int and before[0] + 1 == seq):
                problems.append(Problem("sequence_gap", f"event {seq} follows event {before[0]} of this item: "
                                        "events are missing or out of order", _text(key), seq, event_id))
            last[item_id] = (seq, to_state, key)
            add_leaf(sha(b"\x00" + raw).digest() if raw is not None else _odd_leaf(stored))
            previous, previous_raw = stored, raw
    scan.count, scan.last_hash, scan.subtrees = len(leaves), stored, _subtrees(leaves, start)
    if size is not None and start < size < start + len(leaves):
        scan.prefix = _subtrees(leaves[:size - start], start)
    return scan


def _odd_row(row) -> tuple[bytes | None, bool]:
    """(the stored hash as bytes or None, whether the event was altered) for a row of a batch that
    holds something unusual: characters JSON escapes, NULLs, values of another type, bad hashes."""
    (_id, _item, key, seq, transition, from_state, to_state, actor, roles, comment, changes, data, time, definition,
     prev_hash, stored) = row
    try:
        if seq.__class__ is not int or NEEDS_ESCAPE.search(b"".join((actor, comment, definition, key, time, to_state,
                                                                     transition, from_state or b""))):
            raise TypeError
        computed = hashlib.sha256(BODY % (binascii.unhexlify(prev_hash), actor, changes, comment, data, definition,
                                          b'"' + from_state + b'"' if from_state is not None else b"null",
                                          key, roles, seq, time, to_state, transition)).digest()
    except (TypeError, ValueError, binascii.Error):
        body = _exact_body(row)
        computed = hashlib.sha256(body).digest() if body is not None else None
    raw = _unhex(stored)
    return raw, computed is None or binascii.hexlify(computed) != stored


def _scan_part(url: str, low: int, high: int, start: int, size: int | None) -> Scan:
    """One worker's part of the log, on its own connection."""
    from .db import Database

    db = Database(url)
    try:
        with db.read() as session:
            return _scan(event_batches(session.connection(), "WHERE id >= ? AND id <= ?", (low, high), raw=True),
                         start, size)
    finally:
        db.dispose()


def _workers(requested: int | None, span: int) -> int:
    import multiprocessing
    import os

    if requested is not None:
        return max(1, requested)
    if span < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 8))


def _scan_log(db, connection, workers: int | None, size: int | None) -> list[Scan]:
    """The whole log in one pass, or in id ranges scanned side by side by forked processes
    (each reads only events that existed when this read transaction began)."""
    low, high = connection.exec_driver_sql("SELECT min(id), max(id) FROM events").one()
    count = _workers(workers, (high - low + 1) if low is not None else 0)
    if count == 1 or low is None:
        return [_scan(event_batches(connection, raw=True), 0, size)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    step = -(-(high - low + 1) // count)
    bounds = [(a, min(a + step - 1, high)) for a in range(low, high + 1, step)]
    starts = [connection.exec_driver_sql(f"SELECT count(*) FROM events WHERE id < {int(a)}").scalar()
              for a, _ in bounds]
    with ProcessPoolExecutor(len(bounds) - 1, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_scan_part, db.url, a, b, start, size)
                   for (a, b), start in zip(bounds[:-1], starts[:-1])]
        mine = _scan(event_batches(connection, "WHERE id >= ? AND id <= ?", bounds[-1], raw=True), starts[-1], size)
        return [f.result() for f in futures] + [mine]


def verify(db, checkpoint: tuple[int, str] | None = None, workers: int | None = None) -> VerifyReport:
    """Check the hash chain, each event's hash, the sequence of each item's events, every item
    against its last event, every stored document, and (given) an earlier checkpoint.
    `workers`: processes scanning the log (default: one per core from 50,000 events on)."""
    report = VerifyReport()
    problems = report.problems
    with db.read() as session:
        connection = session.connection()
        scans = _scan_log(db, connection, workers, checkpoint[0] if checkpoint else None)
        last: dict = {}  # item id -> (seq, to_state, key) over the whole log
        previous, refs = chain.GENESIS.encode(), set()
        for scan in scans:
            if scan.count and scan.first_row[0] != previous:
                _, key, seq, event_id = scan.first_row
                scan.problems.append(Problem("chain_broken", "the chain breaks before this event: an event was "
                                             "deleted, inserted or moved here", _text(key), seq, event_id))
            for item_id, (seq, key, event_id) in scan.first.items():
                before = last.get(item_id)
                seq_before = before[0] if before else 0
                if not (seq.__class__ is int and seq_before.__class__ is int and seq_before + 1 == seq):
                    scan.problems.append(Problem("sequence_gap", f"event {seq} follows event {seq_before} of this "
                                                 "item: events are missing or out of order", _text(key), seq, event_id))
            last.update(scan.last)
            problems.extend(sorted(scan.problems, key=lambda p: (p.event_id, RANK[p.kind])))
            refs |= scan.refs
            previous = scan.last_hash if scan.count else previous
        report.events = sum(scan.count for scan in scans)
        report.root = _root_of(node for scan in scans for node in scan.subtrees)
        ids = set()
        for item_id, key, state in connection.exec_driver_sql("SELECT id, key, state FROM items ORDER BY id"):
            report.items += 1
            ids.add(item_id)
            final = last.get(item_id)
            if final is None:
                problems.append(Problem("item_without_events", "the item has no history", key))
            elif _text(final[1]) != state:
                problems.append(Problem("item_state", f"the item is in {state!r} but its last event left it in "
                                        f"{_text(final[1])!r}: the state was changed outside the workflow", key))
            elif _text(final[2]) != key:
                problems.append(Problem("item_key", f"the item is called {key!r} but its events name "
                                        f"{_text(final[2])!r}: the key was changed outside the workflow", key))
        for item_id in sorted(set(last) - ids, key=str):
            problems.append(Problem("item_missing", "events name an item that is not in the database: the item "
                                    "was deleted", _text(last[item_id][2])))
        stored_blobs, damaged = set(), {}
        for digest, data in connection.exec_driver_sql("SELECT sha256, data FROM blobs"):
            report.blobs += 1
            stored_blobs.add(digest)
            if hashlib.sha256(bytes(data)).hexdigest() != digest:
                damaged[digest] = Problem("document_altered", f"the stored bytes of document {digest[:16]} no "
                                          "longer match their sha256")
        if {_text(d) for d in refs} - stored_blobs:  # candidates only: read exactly which are referenced
            referenced: set[str] = set()
            for row in event_rows(connection):
                if isinstance(row[11], str) and '"sha256"' in row[11]:
                    _referenced(row[11], referenced)
            for digest in sorted(referenced - stored_blobs):
                damaged[digest] = Problem("document_missing", f"document {digest[:16]} named by the history is missing")
        if damaged:
            _name_documents(connection, damaged)
            problems.extend(damaged.values())
    if checkpoint is None:
        report.notes.append(TRUNCATION_NOTE)
    else:
        size, root = checkpoint
        if size > report.events:
            problems.append(Problem("log_truncated", f"the checkpoint covers {size} events but the log now has "
                                    f"{report.events}: the newest events were deleted"))
        elif _root_of(node for scan in scans for node in (scan.subtrees if scan.start + scan.count <= size
                                                           else scan.prefix if scan.start < size else ())) != root:
            problems.append(Problem("log_rewritten", f"the first {size} events no longer give the checkpoint's "
                                    "root: history was rewritten (even if the chain was recomputed)"))
        else:
            report.notes.append(f"consistent with the checkpoint: the log only grew ({size} → {report.events} events)")
    return report


def _referenced(data_text: str, into: set) -> None:
    """The digests an event's data names: its documents (with their templates and contexts) and
    the returned form."""
    try:
        data = json.loads(data_text)
    except ValueError:
        return  # not JSON: the event's hash no longer matches, which verify reports
    if not isinstance(data, dict):
        return
    docs, form = data.get("documents"), data.get("form")
    for doc in (docs if isinstance(docs, list) else []) + ([{"sha256": form.get("sha256")}]
                                                           if isinstance(form, dict) else []):
        if isinstance(doc, dict):
            into.update(doc[k] for k in ("sha256", "template_sha256", "context_sha256")
                        if isinstance(doc.get(k), str) and doc[k])


def _name_documents(connection, damaged: dict) -> None:
    """Say which item and event each damaged document belongs to."""
    for (_id, _item, key, seq, *_middle, data, _time, _definition, _prev, _hash) in event_rows(connection):
        if isinstance(data, str) and '"sha256"' in data:
            names: set = set()
            _referenced(data, names)
            for digest in names & damaged.keys():
                if damaged[digest].item is None:
                    damaged[digest].item, damaged[digest].seq, damaged[digest].event_id = key, seq, _id


def make_checkpoint(db, login: str, when: str) -> dict:
    from .models import Checkpoint

    with db.engine.connect() as connection:
        leaves = [leaf_hash(digest) if digest is not None else _odd_leaf(row[0])
                  for row in connection.exec_driver_sql("SELECT hash FROM events ORDER BY id")
                  for digest in [_unhex(row[0])]]
    root = merkle_root(leaves)
    with db.write() as session:
        session.add(Checkpoint(size=len(leaves), root=root, made_at=when, made_by=login))
    return {"size": len(leaves), "root": root, "at": when, "line": checkpoint_line(len(leaves), root, when)}
