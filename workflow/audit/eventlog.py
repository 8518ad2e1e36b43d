"""Reading the event log in order, as stored, and the hot loop of `audit verify` over it.

verify reads the rows in the order of the canonical JSON body's fields, so that one bytes
formatting gives the body the writer hashed, once a check over the whole batch (in C) has shown
that no string field holds a character JSON escapes. A batch with a row that does (a quote, a
line break in a comment) goes through chain.body_from_row itself, row by row: a tampered row
cannot pass off as one that needed escaping."""

from __future__ import annotations

import binascii
import gc
import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from sqlalchemy.engine import Connection

from workflow.audit import merkle
from workflow.store import chain

EVENT_COLUMNS = ("id, item_id, item_key, seq, transition, from_state, to_state, actor, actor_roles, "
                 "comment, changes, data, time, definition_hash, prev_hash, hash")
# The order of chain.body_from_row's JSON (actor ... transition), then what the checks need.
# from_state comes as its JSON: "state" or null (an unambiguous form of the stored value).
SCAN_COLUMNS = ("actor, changes, comment, data, definition_hash, coalesce('\"' || from_state || '\"', 'null'), "
                "item_key, actor_roles, seq, time, to_state, transition, prev_hash, hash, id, item_id, "
                "signature, signer")
# The same with the signature only as NULL or not (1): what a check without signatures looks at
# (a structural verify, or the second pass of a checkpoint's root), one value fewer to read each
STRUCTURE_COLUMNS = SCAN_COLUMNS.replace("signature, signer",
                                         "CASE WHEN signature IS NULL THEN NULL ELSE 1 END, signer")
BODY = (b'{"actor":"%s","changes":%s,"comment":"%s","data":%s,"definition":"%s","from":%s,"item":"%s",'
        b'"roles":%s,"seq":%d,"time":"%s","to":"%s","transition":"%s"}')
BODY_FIELDS = itemgetter(slice(0, 12))
QUOTED = [itemgetter(i) for i in (0, 2, 4, 6, 9, 10, 11)]  # the string fields but from, which has its quotes
DATA, FROM, KEY, SEQ = itemgetter(3), itemgetter(5), itemgetter(6), itemgetter(8)
PREV, HASH, ID = itemgetter(12), itemgetter(13), itemgetter(14)
SAFE = bytes(0 if b < 0x20 or b in b'"\\' else 1 for b in range(256))  # 0: a byte JSON escapes
# candidates: verify reads which are referenced when one is missing. The keys a document names a
# blob by (not a 签发's body_sha256, the hash of a text that is no blob: it would send every verify
# of a signed log through the exact, parsing pass)
DIGEST_REF = re.compile(rb'sha256":"(?<!body_sha256":")(.{64})', re.S)  # the literal first: found in C
_sha, _digest = hashlib.sha256, type(hashlib.sha256()).digest
_unhexlify = binascii.unhexlify


Row = tuple[Any, ...]  # a DB-API row of the events table, as stored
BATCH_ROWS = 5000  # rows a batch of event_batches holds


def event_batches(connection: Connection, where: str = "", params: tuple = (), raw: bool = False,
                  columns: str | None = None) -> Iterator[list[Row]]:
    """Event rows in log order straight from the DB-API cursor (the stored text, nothing parsed),
    a list of up to 5,000 at a time. `where` uses `?` placeholders. With raw=True the text columns
    come as their UTF-8 bytes, the bytes the hash covers (on SQLite without ever decoding them)."""
    dbapi: Any = connection.connection.driver_connection
    sqlite = connection.dialect.name == "sqlite"
    columns = columns or EVENT_COLUMNS
    if connection.dialect.paramstyle != "qmark":  # psycopg: %s placeholders, a literal % doubled
        where, columns = where.replace("%", "%%").replace("?", "%s"), columns.replace("%", "%%")
    saved = dbapi.text_factory if raw and sqlite else None
    cursor = dbapi.cursor()
    try:
        if saved is not None:
            dbapi.text_factory = bytes
        cursor.execute(f"SELECT {columns} FROM events {where} ORDER BY id", params)
        while True:
            rows = cursor.fetchmany(BATCH_ROWS)
            if not rows:
                return
            if raw and not sqlite:
                rows = [tuple(v.encode() if isinstance(v, str) else v for v in row) for row in rows]
            yield rows
    finally:
        cursor.close()
        if saved is not None:
            dbapi.text_factory = saved


def event_rows(connection: Connection, where: str = "", params: tuple = (), raw: bool = False) -> Iterator[Row]:
    """event_batches, one row at a time."""
    for rows in event_batches(connection, where, params, raw):
        yield from rows


@dataclass(frozen=True)
class Problem:
    """One finding of verify. Made only when something is wrong: the scan loop never builds one
    for a sound event."""
    kind: str
    message: str
    item: str | None = None
    seq: int | None = None
    event_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields that are known, in this order (what `audit verify --json` prints)."""
        return {k: v for k, v in (("kind", self.kind), ("message", self.message), ("item", self.item),
                                  ("seq", self.seq), ("event_id", self.event_id)) if v is not None}


@dataclass
class Scan:
    """What one pass over a range of events found (the whole log, or one worker's part)."""
    start: int | None = None  # the position of the range's first event in the log, once placed
    count: int = 0
    leaves: list[bytes] = field(default_factory=list)  # its Merkle leaf hashes, until placed
    subtrees: list[tuple[int, int, bytes]] = field(default_factory=list)  # merkle.subtrees of its leaf hashes
    prefix: list[tuple[int, int, bytes]] = field(default_factory=list)  # those before a checkpoint's size ending here
    problems: list[Problem] = field(default_factory=list)
    first_row: tuple = ()  # (prev_hash, key, seq, event id) of the range's first event
    last_hash: bytes = b""
    marked: bytes | None = None  # the stored hash of the event scan() was asked to mark
    first: dict[Any, tuple] = field(default_factory=dict)  # item id -> (seq, key, event id): its first event here
    last: dict[Any, tuple] = field(default_factory=dict)  # item id -> (seq, to_state, key, id): its last event here
    refs: set[bytes] = field(default_factory=set)
    check: Any = None  # what the visitor scan() was given found (audit.identity.EventCheck)

    def follow(self, last: dict[Any, tuple]) -> None:
        """Check each item's first event here against its last event before the range (`last`:
        item id -> (seq, ...), empty for the first range); the firsts are then settled."""
        for item_id, (seq, key, event_id) in self.first.items():
            before = last.get(item_id)
            seq_before = before[0] if before else 0
            if not (seq.__class__ is int and seq_before.__class__ is int and seq_before + 1 == seq):
                self.problems.append(sequence_gap(seq, seq_before, key, event_id))
        self.first = {}

    def place(self, start: int, size: int | None) -> Scan:
        """Put the range at its position in the log: the Merkle subtrees of its leaves (and of those
        before a checkpoint's size, when it ends inside the range), which replace the leaves."""
        self.start, self.subtrees = start, merkle.subtrees(self.leaves, start)
        if size is not None and start < size < start + self.count:
            self.prefix = merkle.subtrees(self.leaves[:size - start], start)
        self.leaves = []
        return self


def text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def unhex(value: Any) -> bytes | None:
    try:
        return _unhexlify(value)
    except (binascii.Error, TypeError, ValueError):
        return None


def chain_broken(key: object, seq: int | None, event_id: int | None) -> Problem:
    return Problem("chain_broken", "the chain breaks before this event: an event was deleted, inserted or moved "
                   "here", text(key), seq, event_id)


def sequence_gap(seq: int | None, before: int | None, key: object, event_id: int | None) -> Problem:
    return Problem("sequence_gap", f"event {seq} follows event {before} of this item: events are missing or out "
                   "of order", text(key), seq, event_id)


def scan(batches: Iterable[list[Row]], leaves: bool = True, mark: int | None = None,
         visit: Callable[[list[Row]], None] | None = None) -> Scan:
    """Hash chain, event hashes, sequence per item and referenced digests over batches of rows in
    SCAN_COLUMNS order (text as bytes); with `leaves`, the Merkle leaf hashes; the stored hash of
    the event whose id is `mark`, if it is here; `visit` is called with each batch (and kept as the
    Scan's `check`), for the checks of who acted. The cyclic garbage collector is off meanwhile: the
    loop makes no cycles, and a collection would walk every tuple it keeps."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        found = _scan(batches, leaves, mark, visit)
        found.check = visit
        return found
    finally:
        if collecting:
            gc.enable()


def _scan(batches: Iterable[list[Row]], with_leaves: bool, mark: int | None,
          visit: Callable[[list[Row]], None] | None) -> Scan:
    found = Scan()
    problems, last, first, refs, leaves = found.problems, found.last, found.first, found.refs, found.leaves
    previous = previous_raw = None  # the stored hash of the event before (text, bytes)
    raw: bytes | None
    for rows in batches:
        if previous is None:  # the range's first event: verify links it to the one before
            found.first_row = (PREV(rows[0]), KEY(rows[0]), SEQ(rows[0]), ID(rows[0]))
        refs.update(_digest_candidates(rows))
        plain = _plain(rows)
        raws: list[Any] = []  # the stored hashes' bytes; None for one that is not hexadecimal
        for row in rows:
            prev_hash, stored, seq, item_id = row[12], row[13], row[8], row[15]
            if prev_hash == previous:
                prev_raw = previous_raw
            else:
                if previous is not None:
                    problems.append(chain_broken(row[6], seq, row[14]))
                prev_raw = unhex(prev_hash)
            if plain and prev_raw is not None:  # the hash is 64 lowercase hex digits, the body BODY's
                raw = _unhexlify(stored)
                try:
                    altered = _sha(prev_raw + BODY % row[:12]).digest() != raw
                except TypeError:  # a JSON field that is not text
                    altered = _altered(row, prev_raw)
            else:
                raw, altered = unhex(stored), _altered(row, prev_raw)
            if altered:
                problems.append(Problem("event_altered", "the event's content does not match its hash: it was edited "
                                        "after it was written", text(row[6]), seq, row[14]))
            before = last.get(item_id)
            if before is None:
                first[item_id] = (seq, row[6], row[14])
            elif not (seq.__class__ is int and before[0].__class__ is int and before[0] + 1 == seq):
                problems.append(sequence_gap(seq, before[0], row[6], row[14]))
            last[item_id] = (seq, row[10], row[6], row[14])
            raws.append(raw)
            previous, previous_raw = stored, raw
        found.count += len(rows)
        if visit is not None:
            visit(rows)
        if mark is not None and ID(rows[0]) <= mark <= ID(rows[-1]):
            found.marked = next((HASH(row) for row in rows if ID(row) == mark), None)
        if not with_leaves:
            continue
        if None in raws:
            leaves += [merkle.stored_leaf(HASH(row), raw) for raw, row in zip(raws, rows)]
        else:
            leaves += merkle.leaf_hashes(raws)
    found.last_hash = previous or b""
    return found


def _digest_candidates(rows: list[Row]) -> list[bytes]:
    try:
        return DIGEST_REF.findall(b"\n".join(map(DATA, rows)))
    except TypeError:  # a value that is not text: row by row
        return [d for data in map(DATA, rows) if isinstance(data, bytes) for d in DIGEST_REF.findall(data)]


def _plain(rows: list[Row]) -> bool:
    """Whether every row of a batch suits BODY as it is: its string fields are bytes holding no byte
    JSON escapes, its seq an integer, its stored hash 64 lowercase hex digits. Checked for the whole
    batch at once, in C."""
    try:
        quoted = b"".join([b"".join(map(get, rows)) for get in QUOTED])
        hashes = b"".join(map(HASH, rows))
    except TypeError:
        return False
    return (b"\x00" not in quoted.translate(SAFE) and set(map(type, map(SEQ, rows))) == {int}
            and len(hashes) == 64 * len(rows) and not hashes.translate(None, b"0123456789abcdef")
            and all(f == b"null" or (len(f) > 1 and f[:1] == f[-1:] == b'"' and b"\x00" not in f[1:-1].translate(SAFE))
                    for f in set(map(FROM, rows))))


def _body(row: Row) -> bytes | None:
    try:  # strict UTF-8: a value that is not would never match
        values: list[Any] = [v.decode() if isinstance(v, bytes) else v if v is None else str(v)
                             for v in BODY_FIELDS(row)]
        actor, changes, comment, data, definition, from_json, key, roles, _, time, to_state, transition = values
        if from_json is None:  # SCAN_COLUMNS gives "null" for a NULL from_state
            return None
        from_state = None if from_json == "null" else from_json[1:-1]
        return chain.body_from_row(key, SEQ(row), transition, from_state, to_state, actor, roles, comment, changes,
                                   data, time, definition)
    except (TypeError, AttributeError, ValueError):
        return None  # a NULL or a broken value where the writer puts text


def _altered(row: Row, prev_raw: bytes | None) -> bool:
    """Whether an unusual row (characters JSON escapes, NULLs, values of another type, a hash that
    is not hexadecimal) fails to match its hash, through chain.body_from_row itself."""
    body = _body(row)
    return body is None or prev_raw is None or _sha(prev_raw + body).hexdigest().encode() != row[13]
