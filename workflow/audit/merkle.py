"""Merkle trees over the event log, RFC 9162 style: leaf sha256(0x00‖e), node sha256(0x01‖l‖r),
where e is an event's stored hash. A checkpoint is the root over the first `size` events and the
hash of the last of them (the head of the chain), printed as one line an auditor keeps outside
the system."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from operator import add
from pathlib import Path
from typing import NamedTuple

from workflow.errors import BadInput

CHECKPOINT_RE = re.compile(r"gongwen-checkpoint v1 size=(\d+) root=([0-9a-f]{64})(?: head=([0-9a-f]{64}))?"
                           r"(?: signed=([0-9a-f]{64}))?")
_sha = hashlib.sha256
_digest = type(_sha()).digest


def leaf_hash(entry: bytes) -> bytes:
    return _sha(b"\x00" + entry).digest()


def leaf_hashes(entries: list[bytes]) -> list[bytes]:
    """leaf_hash of each entry (map in C, no Python frame per leaf)."""
    return list(map(_digest, map(_sha, map(b"\x00".__add__, entries))))


def stored_leaf(stored: object, raw: bytes | None) -> bytes:
    """The leaf of an event: of its stored hash's bytes (`raw`), or, when the stored hash is not
    hexadecimal (raw None), of a marked form of the stored value (it differs from any real leaf)."""
    if raw is not None:
        return leaf_hash(raw)
    return leaf_hash(b"\xff" + (stored if isinstance(stored, bytes) else str(stored).encode()))


def _pairs(level: list[bytes]) -> list[bytes]:
    """The parents of an even number of nodes."""
    return list(map(_digest, map(_sha, map(b"\x01".__add__, map(add, level[::2], level[1::2])))))


def merkle_root(leaves: list[bytes]) -> str:
    """MTH over leaf hashes, level by level; an odd last node moves up unchanged, which gives
    the same tree as RFC 9162's split at the largest power of two below n."""
    if not leaves:
        return _sha(b"").hexdigest()
    level = leaves
    while len(level) > 1:
        odd = level[-1:] if len(level) % 2 else []
        level = _pairs(level[:len(level) - len(odd)]) + odd
    return level[0].hex()


def subtrees(leaves: list[bytes], start: int) -> list[tuple[int, int, bytes]]:
    """The leaves at positions start, start + 1, ... of the log as the largest aligned perfect
    subtrees that cover them, in order: (level, index at that level, root)."""
    found: list[tuple[int, int, bytes]] = []
    position, end = start, start + len(leaves)
    while position < end:
        level = 0
        while position % (2 << level) == 0 and position + (2 << level) <= end:
            level += 1
        nodes = leaves[position - start:position - start + (1 << level)]
        while len(nodes) > 1:
            nodes = _pairs(nodes)
        found.append((level, position >> level, nodes[0]))
        position += 1 << level
    return found


def root_of(parts: Iterable[tuple[int, int, bytes]]) -> str:
    """merkle_root from the subtrees of consecutive parts of the log (which may come from several
    processes): siblings are joined as they come, then the peaks fold from the right (RFC 9162)."""
    stack: list[tuple[int, int, bytes]] = []
    for node in parts:
        stack.append(node)
        while len(stack) > 1 and stack[-1][0] == stack[-2][0] and stack[-2][1] % 2 == 0:
            (level, _, right), (_, index, left) = stack.pop(), stack.pop()
            stack.append((level + 1, index // 2, _sha(b"\x01" + left + right).digest()))
    if not stack:
        return merkle_root([])
    root = stack[-1][2]
    for _, _, peak in reversed(stack[:-1]):
        root = _sha(b"\x01" + peak + root).digest()
    return root.hex()


def checkpoint_line(size: int, root: str, head: str, made_at: str, signed: str | None = None) -> str:
    """One line to keep; `signed`: the digest of the signatures a verify has just checked."""
    return (f"gongwen-checkpoint v1 size={size} root={root} head={head}" + (f" signed={signed}" if signed else "")
            + f" at={made_at}")


class Checkpoint(NamedTuple):
    """A checkpoint as verify takes it: the root over the first `size` events and the head, the
    hash of the last of them (None in a line written before heads were printed); `signed`, in a
    line printed by `audit verify --root`, the digest of the signatures it checked."""
    size: int
    root: str
    head: str | None = None
    signed: str | None = None


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint in a text holding one line printed by `gongwen audit checkpoint`."""
    match = CHECKPOINT_RE.search(text)
    if not match:
        raise BadInput("not a gongwen checkpoint (expected a line `gongwen-checkpoint v1 size=N root=HEX ...`)")
    return Checkpoint(int(match.group(1)), match.group(2), match.group(3), match.group(4))


def read_checkpoint(value_or_path: str) -> Checkpoint:
    """What `--checkpoint` takes: the line itself, or the path of a file holding it (among other text)."""
    path = Path(value_or_path)
    try:
        is_file = path.is_file()
    except (OSError, ValueError):  # a line that cannot be a path (too long, a NUL byte)
        is_file = False
    if not is_file:
        return parse_checkpoint(value_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"cannot read the checkpoint from {path}: it is not UTF-8 text") from None
    except OSError as exc:
        raise BadInput(f"cannot read the checkpoint from {path}: {exc.strerror or exc}") from None
    return parse_checkpoint(text)
