"""One module per command of ``python -m piltools``; see ``piltools/__main__.py``."""
