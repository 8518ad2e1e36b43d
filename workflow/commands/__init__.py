"""The click commands, one module per group of tasks (workspace, items, audit, admin), and the
App they share. The top layer: cli.py imports it, nothing in workflow/ does."""
