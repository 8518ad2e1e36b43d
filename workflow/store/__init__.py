"""Storage: the workspace folder, the database (SQLite or PostgreSQL), its ORM tables and
Alembic migrations, content-addressed blobs, and the append primitive of the event hash chain.
The bottom layer beside definition/."""

from workflow._exports import lazy_exports

__all__ = ["Workspace", "find_root", "init", "shipped_dir", "Database", "store_blob", "load_blob"]
__getattr__, __dir__ = lazy_exports(__name__, {
    "Workspace": "workspace",
    "find_root": "workspace",
    "init": "workspace",
    "shipped_dir": "workspace",
    "Database": "db",
    "store_blob": "blobs",
    "load_blob": "blobs",
})
