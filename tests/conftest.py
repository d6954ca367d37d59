"""Shared fixtures. Tests marked ``realdata`` read ``../shared/realdata``.

On a user's machine without that folder they are skipped with a reason; under
``CI=true`` a missing folder is an error, so CI can never silently skip them.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("PILTOOLS_REALDATA", REPO_ROOT.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Path to the real LIP/MPII/PASCAL sample files."""
    if not REALDATA.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the real-data folder {REALDATA} is missing")
        pytest.skip(f"real-data samples not found at {REALDATA} (set PILTOOLS_REALDATA)")
    return REALDATA
