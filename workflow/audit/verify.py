"""Audit: verify the hash chain, the stored documents and the items against the events;
Merkle checkpoints (RFC 9162: leaf sha256(0x00‖e), node sha256(0x01‖l‖r)) that an auditor
keeps outside the system, and the consistency of today's log with an earlier checkpoint.

Without a checkpoint, deleting the newest events leaves a valid shorter chain: only a root
kept elsewhere can show it. verify says so every time it runs without one."""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit import attachments, eventlog, fold, identity, merkle
from workflow.audit.eventlog import Problem, event_rows
from workflow.audit.eventlog import text as _text
from workflow.audit.eventlog import unhex as _unhex
from workflow.audit.merkle import Checkpoint, checkpoint_line, merkle_root
from workflow.store import chain
from workflow.store.blobs import text_refs
from workflow.store.db import Database

TRUNCATION_NOTE = ("without an earlier checkpoint, deleting the newest events cannot be detected: "
                   "keep the line printed by `gongwen audit checkpoint` outside the system")
RANK = {"chain_broken": 0, "event_altered": 1, "sequence_gap": 2}
PARALLEL_FROM = 50_000  # events; below this, starting other processes gains little
Checker = Callable[[], identity.EventCheck]  # makes each part's check (a partial: it travels to the workers)


@dataclass
class VerifyReport:
    events: int = 0
    items: int = 0
    blobs: int = 0
    root: str = ""  # the Merkle root over all events, when asked for
    head: str = ""  # the hash of the newest event
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    line: str = ""  # a checkpoint line of the log just verified, when asked for and it verifies
    signatures: int = 0  # event signatures checked

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        found = {"ok": self.ok, "events": self.events, "items": self.items, "blobs": self.blobs,
                 "signatures": self.signatures,
                 "root": self.root or None, "head": self.head, "problems": [p.to_json() for p in self.problems],
                 "notes": self.notes}
        return {**found, "line": self.line} if self.line else found


def _scan_range(connection: Connection, bounds: tuple = (), leaves: bool = True,
                mark: int | None = None, check: identity.EventCheck | None = None) -> eventlog.Scan:
    where = "WHERE id >= ? AND id <= ?" if bounds else ""
    columns = eventlog.SCAN_COLUMNS if check is not None and check.signatures else eventlog.STRUCTURE_COLUMNS
    return eventlog.scan(eventlog.event_batches(connection, where, bounds, raw=True, columns=columns),
                         leaves, mark, check)


def _scan_part(url: str, low: int, high: int, first: bool, size: int | None, leaves: bool,
               mark: int | None, checker: Checker | None) -> eventlog.Scan:
    """One worker's part of the log, on its own connection. The first part knows its position (0):
    it settles its items' first events and sends back Merkle subtrees, not leaves."""
    db = Database(url)
    try:
        with db.read() as session:
            found = _scan_range(session.connection(), (low, high), leaves, mark, checker and checker())
            if found.check is not None:
                found.check.finish()
            if first:
                found.follow({})
                if leaves:
                    found.place(0, size)
            return found
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


@dataclass
class Log:
    """The scans of the whole log, in order, and the id span they covered."""
    scans: list[eventlog.Scan]
    span: int  # max(id) - min(id) + 1: the number of events when ids have no gaps
    mark: int | None = None  # the id at the position asked for, if ids have no gaps

    @property
    def events(self) -> int:
        return sum(scan.count for scan in self.scans)


def _scan_log(db: Database, connection: Connection, workers: int | None, size: int | None, leaves: bool,
              position: int | None, checker: Checker | None = None) -> Log:
    """The whole log in one pass, or in id ranges scanned side by side by forked processes
    (each reads only events that existed when this read transaction began). With `leaves`, each
    scan's Merkle subtrees (and a checkpoint's prefix, given its size); the stored hash at
    `position` is marked on the way when ids have no gaps."""
    low, high = connection.exec_driver_sql(
        "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events)").one()  # each one b-tree step
    if low is None:
        return Log([eventlog.Scan(start=0)], 0)
    log = Log([], high - low + 1, low + position if position is not None else None)
    count = _workers(workers, log.span)
    log.scans = ([_scan_range(connection, (), leaves, log.mark, checker and checker())] if count == 1
                 else _scan_parts(db, connection, low, high, count, size, leaves, log.mark, checker))
    if log.scans[-1].check is not None:  # the part scanned here
        log.scans[-1].check.finish()
    start = 0
    for scan in log.scans:
        if leaves and scan.start != start:
            scan.place(start, size)
        scan.start, scan.leaves, start = start, [], start + scan.count
    return log


def _scan_parts(db: Database, connection: Connection, low: int, high: int, count: int, size: int | None,
                leaves: bool, mark: int | None, checker: Checker | None) -> list[eventlog.Scan]:
    """The log in `count` id ranges: the others in forked processes, the last one here."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    step = -(-(high - low + 1) // count)
    bounds = [(a, min(a + step - 1, high)) for a in range(low, high + 1, step)]
    with ProcessPoolExecutor(len(bounds) - 1, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [pool.submit(_scan_part, db.url, a, b, i == 0, size, leaves, mark, checker)
                   for i, (a, b) in enumerate(bounds[:-1])]
        mine = _scan_range(connection, bounds[-1], leaves, mark, checker and checker())
        if leaves:  # placed while the others finish, where it is unless ids have gaps (leaves kept till known)
            kept = mine.leaves
            mine.place(bounds[-1][0] - low, size)
            mine.leaves = kept
        return [f.result() for f in futures] + [mine]


def _hash_at(connection: Connection, log: Log, position: int) -> str:
    """The stored hash of the event at `position` (0-based) in log order."""
    if log.events == log.span:  # no gaps in the ids: the scans marked it
        found = next((scan.marked for scan in log.scans if scan.marked is not None), None)
        return _text(found) if found is not None else ""
    row = connection.exec_driver_sql(f"SELECT hash FROM events ORDER BY id LIMIT 1 OFFSET {int(position)}").first()
    return _text(row[0]) if row else ""


def verify(db: Database, checkpoint: Checkpoint | None = None, workers: int | None = None, root: bool = False,
           at: str | None = None, signatures: bool = True) -> VerifyReport:
    """Check the hash chain, each event's hash, the sequence of each item's events, every item
    against its last event, every stored document, and (given) an earlier checkpoint. With its
    head, the stored hash at that position must be it (the chain commits to everything before);
    without, the Merkle root of the first `size` events must be the checkpoint's. `root`: compute
    today's Merkle root as well, and with `at` (the time to stamp) a checkpoint line of the log
    just verified, if it verifies (nothing is written). `workers`: processes scanning the log
    (default: one per core from 50,000 events on). Then who acted (audit/identity.py): the user
    events folded and compared with the users, roles and keys tables, every event's signature
    (skipped with `signatures=False`, a structural check) and claimed roles; and every item row
    against the fold of its events (audit/fold.py)."""
    collecting = gc.isenabled()
    gc.disable()  # what the scans send back and the folds keep lives to the end, and holds no cycle
    try:
        return _verify(db, checkpoint, workers, root, at, signatures)
    finally:
        if collecting:
            gc.enable()


def _verify(db: Database, checkpoint: Checkpoint | None, workers: int | None, root: bool, at: str | None,
            signatures: bool) -> VerifyReport:
    report = VerifyReport()
    problems = report.problems
    given = Checkpoint(*checkpoint) if checkpoint is not None else None  # a plain tuple too
    tree = root or (given is not None and given.head is None)
    with db.read() as session:
        connection = session.connection()
        users = identity.fold_users(connection)
        vouched_to = _vouched_to(connection, given, report) if signatures else 0
        log = _scan_log(db, connection, workers, given.size if given and tree else None, tree,
                        given.size - 1 if given and given.head is not None and given.size else None,
                        functools.partial(identity.EventCheck, users, signatures, vouched_to))
        scans = log.scans
        last: dict[Any, tuple] = {}  # item id -> (seq, to_state, key, event id) over the whole log
        refs: set[bytes]
        previous, refs = chain.GENESIS.encode(), set()
        for scan in scans:
            if scan.count and scan.first_row[0] != previous:
                scan.problems.append(eventlog.chain_broken(*scan.first_row[1:]))
            scan.follow(last)
            last.update(scan.last)
            problems.extend(sorted(scan.problems, key=lambda p: (p.event_id, RANK[p.kind])))
            refs |= scan.refs
            previous = scan.last_hash if scan.count else previous
        report.events, report.head = log.events, _text(previous)
        if tree:
            report.root = merkle.root_of(node for scan in scans for node in scan.subtrees)
        chain_sound = not problems  # every link and every event hash as written, so far
        _check_identity(connection, report, users, [scan.check for scan in scans], last, signatures, db.url,
                        _workers(workers, log.span))
        _check_documents(connection, refs, report)
        # a line to keep vouches for the signatures only when they were checked (and all verified)
        signed = signatures_digest(connection, None) if at and root and signatures and not problems else None
        if given is not None and given.size <= report.events:
            if given.head is not None and chain_sound:  # then the head vouches for every event before it
                consistent = (_hash_at(connection, log, given.size - 1) if given.size else chain.GENESIS) == given.head
            else:  # by the Merkle root of the first `size` events (a second pass when the first had none)
                if not tree:
                    scans = _scan_log(db, connection, workers, given.size, True, None).scans
                consistent = _prefix_root(scans, given.size) == given.root
    if given is None:
        report.notes.append(TRUNCATION_NOTE)
    elif given.size > report.events:
        problems.append(Problem("log_truncated", f"the checkpoint covers {given.size} events but the log now has "
                                f"{report.events}: the newest events were deleted"))
    elif not consistent:
        problems.append(Problem("log_rewritten", f"the first {given.size} events are no longer those of the "
                                "checkpoint: history was rewritten (even if the chain was recomputed)"))
    else:
        report.notes.append(f"consistent with the checkpoint: the log only grew ({given.size} → {report.events} "
                            "events)")
    if at and root and report.ok:
        report.line = checkpoint_line(report.events, report.root, report.head, at, signed)
    return report


def signatures_digest(connection: Connection, upto: int | None) -> str:
    """sha256 over each event's signer and signature, in log order (of events up to id `upto`):
    what a checkpoint line's `signed=` holds, so that a later verify given that line need not check
    those signatures again (the event hashes they sign are fixed by the checkpoint's head)."""
    digest = hashlib.sha256()
    where, params = ("WHERE id <= ?", (upto,)) if upto is not None else ("", ())
    for batch in eventlog.event_batches(connection, where, params, raw=True,
                                        columns="coalesce(signer, '') || ' ' || coalesce(signature, '')"):
        digest.update(b"\n".join(row[0] for row in batch) + b"\n")
    return digest.hexdigest()


def _vouched_to(connection: Connection, given: Checkpoint | None, report: VerifyReport) -> int:
    """The id up to which a checkpoint's `signed=` vouches for the signatures (0: none)."""
    if given is None or not given.signed or given.head is None or not given.size:
        return 0
    row = connection.exec_driver_sql(f"SELECT id FROM events ORDER BY id LIMIT 1 OFFSET {int(given.size) - 1}").first()
    if row is None:
        return 0  # the log is shorter than the checkpoint: verify reports it truncated
    if signatures_digest(connection, row[0]) != given.signed:
        report.notes.append(f"the signatures of the first {given.size} events are not those the checkpoint "
                            "vouched for: every signature was checked")
        return 0
    report.notes.append(f"the checkpoint vouches for the signatures of its {given.size} events (checked when it "
                        "was made): the signatures after them were checked")
    return int(row[0])


def _check_identity(connection: Connection, report: VerifyReport, users: identity.Users,
                    checks: list[Any], last: dict[Any, tuple], signatures: bool, url: str, workers: int) -> None:
    report.problems.extend(users.problems)
    identity.check_tables(connection, users, report.problems)
    legacy, checked, problems, items, last_data = identity.EventCheck.merge([c for c in checks if c is not None])
    report.items = fold.check_items(connection, items, last, last_data, report.problems, url, workers)
    report.problems.extend(problems)
    report.signatures = checked
    if legacy:
        report.notes.append(f"{legacy} events from before signed events (the upgrade to revision 0003) carry no "
                            "signature: only a checkpoint kept from that time vouches for them")
    if not signatures:
        report.notes.append("signatures were not checked (--no-signatures): a structural check only")


def _prefix_root(scans: list[eventlog.Scan], size: int) -> str:
    """The Merkle root of the first `size` events, from the subtrees of placed scans."""
    nodes: list[tuple[int, int, bytes]] = []
    for scan in scans:
        start = scan.start or 0  # placed: never None here
        nodes += scan.subtrees if start + scan.count <= size else scan.prefix if start < size else []
    return merkle.root_of(nodes)


def _check_documents(connection: Connection, refs: set[bytes], report: VerifyReport) -> None:
    """Every stored document against its sha256, and every document the history names present."""
    stored_blobs, damaged, texts = set(), {}, set()
    for digest, data in connection.exec_driver_sql("SELECT sha256, data FROM blobs"):
        report.blobs += 1
        stored_blobs.add(digest)
        if hashlib.sha256(bytes(data)).hexdigest() != digest:
            damaged[digest] = Problem("document_altered", f"the stored bytes of document {digest[:16]} no "
                                      "longer match their sha256")
        texts.update(text_refs(bytes(data)))  # the long texts a render context names
    for digest in sorted(texts - stored_blobs):
        damaged[digest] = Problem("document_missing", f"a long text ({digest[:16]}) a stored render context names "
                                  "is missing")
    if {_text(d) for d in refs} - stored_blobs:  # candidates only: read exactly which are referenced
        referenced: set[str] = set()
        for row in event_rows(connection):
            if isinstance(row[11], str) and '"sha256"' in row[11]:
                _referenced(row[11], referenced)
        for digest in sorted(referenced - stored_blobs):
            damaged[digest] = Problem("document_missing", f"document {digest[:16]} named by the history is missing")
    if damaged:
        _name_documents(connection, damaged)
        report.problems.extend(damaged.values())


def _referenced(data_text: str, into: set[str]) -> None:
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
    into.update(attachments.digests(data))  # and the files attached (附件)


def _name_documents(connection: Connection, damaged: dict[str, Problem]) -> None:
    """Say which item and event each damaged document belongs to."""
    for (_id, _item, key, seq, *_middle, data, _time, _definition, _prev, _hash) in event_rows(connection):
        if isinstance(data, str) and '"sha256"' in data:
            names: set[str] = set()
            _referenced(data, names)
            for digest in names & damaged.keys():
                if damaged[digest].item is None:
                    damaged[digest] = attachments.named(dataclasses.replace(damaged[digest], item=key, seq=seq,
                                                                            event_id=_id), digest, json.loads(data))


def make_checkpoint(db: Database, login: str, when: str) -> dict[str, Any]:
    from workflow.store.orm import Checkpoint as CheckpointRow

    with db.engine.connect() as connection:
        hashes = [row[0] for row in connection.exec_driver_sql("SELECT hash FROM events ORDER BY id")]
    leaves = [merkle.stored_leaf(stored, _unhex(stored)) for stored in hashes]
    root, head = merkle_root(leaves), _text(hashes[-1]) if hashes else chain.GENESIS
    with db.write() as session:
        session.add(CheckpointRow(size=len(leaves), root=root, made_at=when, made_by=login))
    return {"size": len(leaves), "root": root, "head": head, "at": when,
            "line": checkpoint_line(len(leaves), root, head, when)}
