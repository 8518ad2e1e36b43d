"""Bounds on what users hand to gongwen, checked where it comes in (exit 4, one line):

- input files are read only when they are regular files (after following symlinks) no larger
  than a limit, checked before reading: a FIFO, a device or a folder is refused, never read;
- text values hold no control characters (tab, newline and carriage return only in multi-line
  text), no lone surrogates (undecodable bytes of the command line) and no U+FFFE/U+FFFF, none of
  which a Word document can hold, and are at most MAX_TEXT_BYTES long (UTF-8);
- nesting (lists of mappings of lists...) is at most MAX_DEPTH deep;
- item numbers given for keys fit the database's 64-bit integers.

The limits are the module's constants, read when a check runs (not bound as defaults), so that
a caller may set them, e.g. from the workspace's configuration.

Layer 0: the standard library and workflow.errors only."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from workflow.errors import BadInput, NotFound

MAX_FILE_BYTES = 16 * 1024 * 1024  # an input file (--from): values of one item are far below
MAX_TEXT_BYTES = 1024 * 1024  # one text value (a field, a title, a comment), in UTF-8
MAX_ITEM_BYTES = 4 * 1024 * 1024  # all the fields of one item, as JSON in UTF-8
DEFAULTS = {"MAX_TEXT_BYTES": MAX_TEXT_BYTES, "MAX_ITEM_BYTES": MAX_ITEM_BYTES}  # gongwen.yaml `limits:` sets them
MAX_DEPTH = 32  # nesting of values: a list field is 3 deep (list, record, value)
MAX_KEY_CHARS = 200  # an item key or number as typed
MAX_ITEM_ID = 2 ** 63 - 1  # the database's integers

# What no .docx (XML 1.0) can hold, plus the C1 controls: C0 controls but tab, newline and
# carriage return, DEL and C1, surrogates (lone ones: the command line's undecodable bytes), and
# the non-characters U+FFFE and U+FFFF.
_BAD_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_BAD_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _prefix(label: str) -> str:
    return f"{label}: " if label else ""


def read_regular_file(path: str | os.PathLike[str], limit: int | None = None, label: str | None = None) -> bytes:
    """The bytes of `path` if it is a regular file (symlinks followed) of at most `limit` bytes.

    A FIFO, device, socket or folder is refused before it is opened (reading one could block
    forever or never end); the size is checked before reading, and again while reading (a file
    that grows). Errors start with `label` (default: the path), then the problem."""
    limit = MAX_FILE_BYTES if limit is None else limit
    name = os.fspath(path)
    where = _prefix(name if label is None else label)
    try:
        info = os.stat(name)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{where}cannot read: it is {_kind(info.st_mode)}, not a regular file", reason="unreadable")
        # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it does not wait
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise BadInput(f"{where}cannot read: {exc.strerror or exc}", reason="unreadable") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise BadInput(f"{where}cannot read: it is {_kind(info.st_mode)}, not a regular file", reason="unreadable")
        if info.st_size > limit:
            raise _too_large(where, info.st_size, limit)
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise _too_large(where, size, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise BadInput(f"{where}cannot read: {exc.strerror or exc}", reason="unreadable") from None
    finally:
        os.close(fd)


def _too_large(where: str, size: int, limit: int) -> BadInput:
    return BadInput(f"{where}too large ({_size(size)}; the limit is {_size(limit)})", reason="too_large")


def _size(count: int) -> str:
    return f"{count / 1048576:.1f} MB" if count >= 1048576 else f"{count} bytes"


def read_text_file(path: str | os.PathLike[str], limit: int | None = None) -> str:
    """A regular file's text (UTF-8, a BOM skipped), see read_regular_file."""
    blob = read_regular_file(path, limit)
    try:
        return blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{Path(path)}: not UTF-8 text (byte {exc.start})", reason="unreadable") from None


def text_problem(value: str, multiline: bool = True, limit: int | None = None) -> str | None:
    """Why a text value cannot be stored (a character no document can hold, or its size over
    `limit`, by default MAX_TEXT_BYTES as it is when called), or None."""
    limit = MAX_TEXT_BYTES if limit is None else limit
    match = (_BAD_MULTILINE if multiline else _BAD_ONE_LINE).search(value)
    if match:
        char, hint = match.group(), ""
        if "\ud800" <= char <= "\udfff":
            what, hint = f"a lone surrogate U+{ord(char):04X}", " (bytes that are not UTF-8?)"
        elif char in "\t\n\r":
            what, hint = f"a line break or tab (U+{ord(char):04X})", ": this value is one line"
        elif char in "\ufffe\uffff":
            what = f"the non-character U+{ord(char):04X}"
        else:
            what = f"the control character U+{ord(char):04X}"
        return f"{what} at position {match.start() + 1} is not allowed{hint}"
    if len(value) * 4 > limit:  # the UTF-8 length only when it could matter
        size = len(value) if len(value) > limit else len(value.encode("utf-8"))
        if size > limit:
            return f"too long ({_size(size)}; the limit is {_size(limit)})"
    return None


def check_text(value: str, where: str, multiline: bool = True, limit: int | None = None) -> str:
    """`value` if text_problem finds nothing, else BadInput `where: problem` (reason bad_value)."""
    problem = text_problem(value, multiline, limit)
    if problem:
        raise BadInput(f"{where}: {problem}", reason="bad_value")
    return value


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep lists, tuples and mappings nest in `value` (a scalar is 0), counted without
    recursion; stops counting beyond `limit` (returns limit + 1)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = list(item.keys()) + list(item.values())
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        depth += 1
        if depth > limit:
            return limit + 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def check_depth(value: Any, where: str, limit: int = MAX_DEPTH) -> Any:
    if depth_of(value, limit) > limit:
        raise BadInput(f"{where}: nested more than {limit} levels deep", reason="bad_value")
    return value


def bracket_depth(text: str, limit: int = MAX_DEPTH) -> int:
    """How deep [ and { nest in a text (quotes ignored: an upper bound for JSON and YAML flow
    values); stops counting beyond `limit`."""
    if "[" not in text and "{" not in text:
        return 0
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return limit + 1
        elif char in "]}" and depth:
            depth -= 1
    return deepest


def check_item_key(key: str) -> str:
    """An item key or number as typed (`JH-2025-0001`, `7`): one line of text; a number must be
    one the database can hold, else there is no such item (NotFound, exit 4)."""
    check_text(key, "item", multiline=False, limit=MAX_KEY_CHARS)
    if key.isdigit() and (not key.isdecimal() or int(key) > MAX_ITEM_ID):
        raise NotFound(f"no item {key!r}")
    return key


def write_all(files: list[tuple[Path, bytes]], made_folder: Path | None = None) -> None:
    """Write every file whole, or none: each goes to a temporary name beside it first, and only
    when all are written are they renamed into place. On failure the temporaries (and
    `made_folder`, a folder the caller just made, if it is left empty) are removed and the
    OSError is raised as one true line (errors.os_fault)."""
    from workflow.errors import os_fault

    temporaries: list[Path] = []
    target = files[0][0] if files else Path(".")
    try:
        for target, data in files:
            temporary = target.with_name(f".{target.name}.writing")
            temporaries.append(temporary)
            with open(temporary, "wb") as handle:
                handle.write(data)
        for (target, _), temporary in zip(files, temporaries):
            os.replace(temporary, target)
    except OSError as exc:
        for temporary in temporaries:
            try:
                temporary.unlink(missing_ok=True)
            except OSError:
                pass
        if made_folder is not None:
            try:
                made_folder.rmdir()  # only if empty
            except OSError:
                pass
        raise os_fault(OSError(exc.errno, exc.strerror, str(target))) from None  # named by the file, not its temporary
