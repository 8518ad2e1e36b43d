"""The workspace: a folder with gongwen.yaml, the database, definitions and templates.

Found like git finds a repository: --home / GONGWEN_HOME, else the current folder or a parent."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from workflow.store.db import Database

import datetime as dt
import os
import shutil
from functools import cached_property
from pathlib import Path

from workflow.errors import BadInput, NotFound

CONFIG_NAME = "gongwen.yaml"
SECRET_NAME = "secret.key"  # where releases before schema 0003 kept the form secret: no longer made nor read
FORM_SECRET = "form_secret"  # its row in the database's settings table (hex)
DB_NAME = "gongwen.db"
DEFAULT_CONFIG = {
    "issuer_name": "某某县教育局",
    "issuer_code": "某教发",
    # the other issuers a definition's steps may name (issuer: supervision); `bureau` is the above
    "issuers": {"supervision": {"name": "某某县人民政府教育督导室", "code": "某教督"},
                "city": {"name": "某某市教育局", "code": "某市教发"}},
    "timezone": "Asia/Shanghai",
}
MAIN_ISSUER = "bureau"  # the workspace's own issuer: issuer_name and issuer_code


CONFIG_MAX_BYTES = 1024 * 1024
LIMITS = {"text_bytes": "MAX_TEXT_BYTES", "item_bytes": "MAX_ITEM_BYTES"}  # gongwen.yaml limits: -> inputs


def _apply_limits(limits: Any, path: Path) -> None:
    """`limits: {text_bytes: N, item_bytes: N}` in gongwen.yaml: the size of one text value and of
    one item's fields (defaults 1 MB and 4 MB); what is not given keeps its default."""
    from workflow import inputs

    if limits is not None and not isinstance(limits, dict):
        raise BadInput(f"{path}: limits must be a mapping (text_bytes, item_bytes)", reason="bad_config")
    for key, constant in LIMITS.items():
        value = (limits or {}).get(key, inputs.DEFAULTS[constant])
        if isinstance(value, bool) or not isinstance(value, int) or not 1024 <= value <= 256 * 1024 * 1024:
            raise BadInput(f"{path}: limits.{key} must be a number of bytes from 1024 to 268435456",
                           reason="bad_config")
        setattr(inputs, constant, value)
    for key in set(limits or {}) - set(LIMITS):
        raise BadInput(f"{path}: unknown limit {key!r} (known: {', '.join(LIMITS)})", reason="bad_config")


def shipped_dir(name: str) -> Path:
    """The shipped definitions/ or templates_docx/, read as package data: workflow/_shipped/ holds
    the symlinks definitions -> ../../definitions and templates_docx -> ../../templates_docx, which
    the build turns into real folders (setup.cfg [options.package_data]). So one lookup serves a
    checkout (the symlink, resolved to the top-level folder), an editable install and a
    `pip install .` run from anywhere (the copies in site-packages/workflow/_shipped/)."""
    from importlib.resources import files

    shipped = files("workflow") / "_shipped" / name
    if not (isinstance(shipped, Path) and shipped.is_dir()):
        raise NotFound(f"shipped {name}/ not found (looked in {shipped})")
    return shipped.resolve()


def given_db_url(option: str | None) -> tuple[str | None, str]:
    """The database this command was given: --db, else $GONGWEN_DB, with its name for messages
    (None: the workspace's own, from gongwen.yaml or its SQLite file)."""
    if option:
        return option, "--db"
    if os.environ.get("GONGWEN_DB"):
        return os.environ["GONGWEN_DB"], "GONGWEN_DB"
    return None, "--db"


def _check_issuers(config: dict[str, Any], path: Path) -> None:
    """gongwen.yaml's issuers: a mapping of ids to {name, code}, each a line of text."""
    issuers = config.get("issuers")
    if issuers is None:
        return
    if not isinstance(issuers, dict):
        raise BadInput(f"{path}: issuers must be a mapping of ids to {{name, code}}", reason="bad_config")
    for issuer_id, spec in issuers.items():
        if (not isinstance(spec, dict) or set(spec) != {"name", "code"}
                or not all(isinstance(v, str) and v.strip() and "\n" not in v for v in spec.values())):
            raise BadInput(f"{path}: issuers.{issuer_id} must give a name and a code, e.g. "
                           "{name: 某某县人民政府教育督导室, code: 某教督}", reason="bad_config")
        if issuer_id == MAIN_ISSUER:
            raise BadInput(f"{path}: issuers.{MAIN_ISSUER} is the workspace's own issuer: set issuer_name and "
                           "issuer_code instead", reason="bad_config")


def _zone(name: Any, path: Path) -> dt.tzinfo:
    """gongwen.yaml's timezone as a tzinfo; BadInput (reason bad_config) for a zone that does not exist."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        if not isinstance(name, str):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise BadInput(f"{path}: timezone {name!r} is not a known time zone; write an IANA name such as "
                       "Asia/Shanghai", reason="bad_config") from None


def find_root(home: str | None = None, start: Path | None = None) -> Path:
    home = home or os.environ.get("GONGWEN_HOME")
    if home:
        root = Path(home).expanduser().resolve()
        if not (root / CONFIG_NAME).is_file():
            raise NotFound(f"{root} is not a gongwen workspace (no {CONFIG_NAME}); run `gongwen init {root}`")
        return root
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise NotFound("not inside a gongwen workspace (no gongwen.yaml here or above); "
                   "run `gongwen init` or give --home DIR")


class Workspace:
    def __init__(self, root: Path, db_url: str | None = None, db_given_by: str = "--db") -> None:
        self.root = Path(root)
        self.config = self._read_config()
        self._db_url = db_url
        self._db_given_by = db_given_by
        self._form_secret: bytes | None = None
        self.clock: dt.datetime | None = None  # set: the time now (the demo's story, step by step)

    def _read_config(self) -> dict[str, Any]:
        from workflow import inputs
        from workflow.definition import yamlsrc

        path = self.root / CONFIG_NAME
        try:  # a regular file of bounded size, YAML checked as definitions are (no alias bombs, no tags)
            text = inputs.read_regular_file(path, CONFIG_MAX_BYTES).decode("utf-8")
            data = yamlsrc.load(text, str(path)) or {}
        except UnicodeDecodeError:
            raise BadInput(f"{path}: the workspace config is not UTF-8 text", reason="bad_config") from None
        except ValueError as exc:
            raise BadInput(str(exc), reason="bad_config") from None
        if not isinstance(data, dict):
            raise BadInput(f"{path}:1: the workspace config must be a mapping", reason="bad_config")
        config = {**DEFAULT_CONFIG, **data}
        _apply_limits(config.get("limits"), path)
        self._timezone = _zone(config.get("timezone") or DEFAULT_CONFIG["timezone"], path)
        _check_issuers(config, path)
        if "db_url" in data and data["db_url"] is not None and not isinstance(data["db_url"], str):
            raise BadInput(f"{path}: db_url must be a database URL in quotes, e.g. "
                           "'postgresql://user:pw@host/gongwen'", reason="bad_db_url")
        return config

    def issuer(self, issuer_id: str | None) -> dict[str, str]:
        """{id, name, code} of an issuer: the workspace's own (`bureau`, the default), or one of
        gongwen.yaml's issuers:; BadInput (unknown_issuer) for one it does not declare."""
        if issuer_id in (None, MAIN_ISSUER):
            return {"id": MAIN_ISSUER, "name": str(self.config["issuer_name"]), "code": str(self.config["issuer_code"])}
        found = (self.config.get("issuers") or {}).get(issuer_id)
        if found is None:
            raise BadInput(f"the workflow names the issuer {issuer_id!r}, which {self.root / CONFIG_NAME} does not "
                           f"declare under issuers: (name and code)", reason="unknown_issuer")
        return {"id": str(issuer_id), "name": str(found["name"]), "code": str(found["code"])}

    def issuers(self) -> dict[str, dict[str, str]]:
        """Every issuer by id, the workspace's own first."""
        return {i: self.issuer(i) for i in (MAIN_ISSUER, *(self.config.get("issuers") or {}))}

    @property
    def definitions_dir(self) -> Path:
        return self.root / "definitions"

    @property
    def templates_dir(self) -> Path:
        return self.root / "templates_docx"

    @property
    def db_url(self) -> str:
        return self.db_source[0]

    @property
    def db_source(self) -> tuple[str, str]:
        """The database URL and where it comes from: --db, else $GONGWEN_DB, else db_url in
        gongwen.yaml, else the workspace's SQLite file (the same order in every command)."""
        if self._db_url:
            return self._db_url, self._db_given_by
        if os.environ.get("GONGWEN_DB"):
            return os.environ["GONGWEN_DB"], "GONGWEN_DB"
        if self.config.get("db_url"):
            return str(self.config["db_url"]), f"db_url in {self.root / CONFIG_NAME}"
        return f"sqlite:///{self.root / DB_NAME}", "the workspace's database"

    @cached_property
    def db(self) -> Database:
        from workflow.store.db import Database

        return Database(*self.db_source)

    @property
    def timezone(self) -> dt.tzinfo:
        return self._timezone

    def now(self) -> dt.datetime:
        """Now in the workspace's time zone; GONGWEN_NOW (ISO) fixes it for rehearsals and tests."""
        if self.clock is not None:
            return self.clock
        fixed = os.environ.get("GONGWEN_NOW")
        if fixed:
            try:
                moment = dt.datetime.fromisoformat(fixed)
            except ValueError:
                raise BadInput(f"GONGWEN_NOW={fixed!r} is not an ISO date-time (e.g. 2025-03-10T09:00:00)") from None
            return moment if moment.tzinfo else moment.replace(tzinfo=self.timezone)
        return dt.datetime.now(self.timezone).replace(microsecond=0)

    @property
    def form_secret(self) -> bytes:
        return self.form_secret_in(None)

    def form_secret_in(self, session: Session | None) -> bytes:
        """The HMAC key of approval forms: the settings row `form_secret` in the database (hex,
        made by migration 0003), read once per Workspace object, through `session` when the
        caller holds one (no second connection inside a write transaction).

        It lives in the database, not in the workspace folder: whoever may run gongwen in the
        folder must not be able to make forms. A workspace from an older release may still hold
        secret.key; it is ignored (delete it). Forms handed out before the upgrade were signed
        with that file and are refused as forged on ingest: record those decisions with
        `gongwen --as SUPERVISOR do ITEM DECISION` instead."""
        if self._form_secret is None:
            from sqlalchemy import select

            from workflow.store.orm import Setting

            query = select(Setting.value).where(Setting.name == FORM_SECRET)
            if session is None:
                with self.db.read() as own:
                    value = own.scalar(query)
            else:
                value = session.scalar(query)
            if not value:
                raise BadInput("the database holds no form secret (settings row form_secret); "
                               "run `gongwen db upgrade`", reason="no_form_secret")
            try:
                self._form_secret = bytes.fromhex(value.strip())
            except ValueError:
                raise BadInput("the database's form secret (settings row form_secret) is not hex",
                               reason="no_form_secret") from None
        return self._form_secret

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()


def init(root: Path, issuer_name: str | None = None, issuer_code: str | None = None,
         db_url: str | None = None, db_given_by: str = "--db",
         issuers: dict[str, dict[str, str]] | None = None) -> Workspace:
    """Create a workspace: config, database schema, copies of the shipped definitions and templates."""
    import yaml

    from workflow.store.db import Database

    root = Path(root).resolve()
    if (root / CONFIG_NAME).exists():
        raise BadInput(f"{root} is already a gongwen workspace")
    database = (Database(db_url, db_given_by) if db_url  # a bad URL is refused before anything is made
                else Database(f"sqlite:///{root / DB_NAME}", "the workspace's database"))
    given_file = db_url and database.is_sqlite and database.engine.url.database not in (None, "", ":memory:") \
        and Path(str(database.engine.url.database)).exists()
    if not database.is_sqlite or given_file:  # an unreachable or used database is refused before anything is made
        from workflow.store.migrate import check_empty

        try:
            check_empty(database)
        except BaseException:
            database.dispose()
            raise
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        database.dispose()
        raise BadInput(f"cannot create the workspace folder {root}: {exc.strerror or exc}") from None
    config = dict(DEFAULT_CONFIG)
    if issuer_name:
        config["issuer_name"] = issuer_name
    if issuer_code:
        config["issuer_code"] = issuer_code
    if issuers:
        config["issuers"] = {str(i): {"name": str(v["name"]), "code": str(v["code"])} for i, v in issuers.items()}
    if db_url:
        config["db_url"] = db_url
    try:
        database.create_schema()  # first: a refused database leaves no half workspace behind
    except BaseException:
        if created and not any(root.iterdir()):
            root.rmdir()  # nor an empty folder
        raise
    finally:
        database.dispose()
    for name in ("definitions", "templates_docx"):
        target = root / name
        if not target.exists():
            shutil.copytree(shipped_dir(name), target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    (root / "documents").mkdir(exist_ok=True)
    text = ("# gongwen workspace. issuer_code is the 机关代字 used in 发文字号 (e.g. 某教发〔2024〕1号).\n"
            + yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    (root / CONFIG_NAME).write_text(text, encoding="utf-8")
    workspace = Workspace(root, db_url, db_given_by)  # the forms' HMAC key is in the database (migration 0003)
    return workspace

