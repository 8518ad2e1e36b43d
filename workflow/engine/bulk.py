"""One transition on many items (`gongwen do TRANSITION --all-from FILE | --where …`): each item is a
transaction of its own, fired as the acting user exactly as `gongwen do` fires it; what one item
refuses is reported and the others go on. The items come from a file of keys or from the same
filters as `gongwen list`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow import inputs
from workflow.engine import listing, names
from workflow.errors import BadInput, GongwenError

if TYPE_CHECKING:
    from workflow.engine.engine import Engine

MAX_ITEMS = 10_000  # items in one bulk run
MAX_KEY_FILE = 1 << 20  # bytes of a file of keys
KEY_SHAPE = re.compile(r"[A-Z][A-Z0-9]{0,15}-\d{4}-\d{1,9}|\d{1,12}")  # JH-2025-0001, or an item's id
WHERE_KEYS = ("workflow", "state", "mine", "grep", "number", "school", "from", "to")


@dataclass(frozen=True)
class Outcome:
    """What one item did: moved (to `state`), or refused with the error's reason and exit code."""

    key: str
    moved: bool
    state: str = ""
    state_title: str = ""
    reason: str = ""
    message: str = ""
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        if self.moved:
            return {"key": self.key, "moved": True, "state": self.state, "state_title": self.state_title}
        return {"key": self.key, "moved": False, "reason": self.reason, "message": self.message,
                "exit_code": self.exit_code}


def keys_from_file(path: Path) -> list[str]:
    """The item keys of a text file, one per line (blank lines and `#` comments skipped; a CSV's
    first column), each checked, in order, without repeats; bounded in bytes and in keys."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise BadInput(f"{path}: not a file of item keys", reason="bad_value")
        if size > MAX_KEY_FILE:
            raise BadInput(f"{path}: {size} bytes; a file of keys holds at most {MAX_KEY_FILE}", reason="too_large")
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text (one item key per line)", reason="bad_value") from None
    except OSError as exc:
        raise BadInput(f"{path}: {exc.strerror or exc}", reason="not_found") from None
    keys: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        key = line.split("#", 1)[0].split(",", 1)[0].strip().strip('"')
        if not key:
            continue
        try:
            key = names.item_key(key)
        except BadInput as exc:
            raise BadInput(f"{path}:{number}: {exc.message}", reason="bad_value") from None
        if not KEY_SHAPE.fullmatch(key):
            raise BadInput(f"{path}:{number}: {key[:40]!r} is not an item key (like JH-2025-0001)",
                           reason="bad_value")
        if key not in keys:
            keys.append(key)
        if len(keys) > MAX_ITEMS:
            raise BadInput(f"{path}: more than {MAX_ITEMS} items; split the file", reason="too_large")
    if not keys:
        raise BadInput(f"{path}: no item keys in it", reason="bad_value")
    return keys


def keys_where(engine: Engine, login: str, where: Sequence[tuple[str, str]]) -> list[str]:
    """The keys of the items matching `--where NAME=VALUE` filters (those of `gongwen list`), by id."""
    import datetime as dt

    given: dict[str, str] = {}
    for name, value in where:
        if name not in WHERE_KEYS:
            raise BadInput(f"--where {name}=…: one of {', '.join(WHERE_KEYS)}", reason="bad_value")
        if name in given:
            raise BadInput(f"--where {name} is given twice", reason="bad_value")
        given[name] = inputs.check_text(value, f"--where {name}", multiline=False)

    def day(name: str) -> dt.date | None:
        if name not in given:
            return None
        try:
            return dt.date.fromisoformat(given[name])
        except ValueError:
            raise BadInput(f"--where {name}={given[name]}: a date is YYYY-MM-DD", reason="bad_value") from None

    mine = given.get("mine", "no").lower()
    if mine not in ("yes", "no", "true", "false", "1", "0"):
        raise BadInput(f"--where mine={given['mine']}: yes or no", reason="bad_value")
    workflow, state = names.list_filter(engine.ws, given.get("workflow"), given.get("state"))
    search = listing.Search(grep=given.get("grep"), number=given.get("number"), school=given.get("school"),
                            since=day("from"), until=day("to"))
    found = engine.list_items(login, workflow, state, mine in ("yes", "true", "1"), search=search)
    if len(found) > MAX_ITEMS:
        raise BadInput(f"--where matches {len(found)} items, more than {MAX_ITEMS}: narrow it", reason="too_large")
    return [summary.key for summary in found]


def fire_many(engine: Engine, login: str, keys: Sequence[str], transition: str, comment: str,
              sets: Sequence[tuple[str, str]], done: Callable[[str], None] = lambda key: None) -> list[Outcome]:
    """Fire `transition` (an id or a title, per item's definition) on each item in turn, each in
    its own transaction; `done(key)` after each. A refusal is recorded, not raised."""
    outcomes = []
    for key in keys:
        try:
            view = engine.fire(login, key, names.transition_id(engine.ws, key, transition), comment, sets)
            outcomes.append(Outcome(view.key, True, view.state, view.state_title))
        except GongwenError as exc:
            outcomes.append(Outcome(key, False, reason=exc.reason, message=str(exc.message),
                                    exit_code=exc.exit_code))
        done(key)
    return outcomes
