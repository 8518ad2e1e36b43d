"""gongwen: a document workflow engine for education bureaus (no Plone, no Zope).

Modules are imported lazily by the command line; keep this file free of imports so that
`gongwen --help` stays fast.
"""

__version__ = "0.1.0"
