"""Errors raised by the dataset loaders.

Every loader problem is a :class:`DatasetError` (an
:class:`~piltools.errors.InputError`, hence a ``ValueError``), and the ones
about files that are not there are also ``FileNotFoundError``, so callers may
catch either the generic or the specific kind. Messages always name the file
(and the row or line where there is one) and say what was expected.
"""
from __future__ import annotations

from piltools.errors import InputError


class DatasetError(InputError):
    """Base class of every dataset loading error (an :class:`~piltools.errors.InputError`)."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """A dataset root, annotation file or image that an annotation names is missing."""


class MalformedAnnotationError(DatasetError):
    """An annotation row or entry does not have the expected fields or values."""


class SizeMismatchError(DatasetError):
    """A parsing map does not have the same height and width as its image."""


class CorruptImageError(DatasetError):
    """An image or label map exists but cannot be decoded."""
