"""Errors that mean "the input is wrong", as opposed to a bug in piltools.

Every such error derives from :class:`InputError` (a ``ValueError``). Its
message is one line that names the input (a file, an argument, a run) and
says what was expected or how to fix it. The command line
(:mod:`piltools.__main__`) prints that line and exits with status 2, without a
traceback; a library caller can catch ``InputError`` (or ``ValueError``).
Bugs keep their tracebacks.

Families of input errors live beside the code that raises them and derive
from this class (e.g. :class:`piltools.datasets.errors.DatasetError`).
"""
from __future__ import annotations


class InputError(ValueError):
    """Bad input from the user: a missing or corrupt file, a malformed row, a wrong argument or run."""
