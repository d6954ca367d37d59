"""The inspector app in a real browser: ``python -m piltools inspect --scale smoke`` opened in headless Chromium.

Driven by Playwright (Python) with the distribution's Chromium (``/usr/bin/chromium``; never
``playwright install``). Changes the sort and the image selector and checks that the shown image
changes and that the displayed correction summary is what :mod:`piltools.inspection` computes for
that image. On failure a screenshot is written to a temporary folder and its path printed.

Under ``CI=true`` the test must run: a missing Chromium or Playwright is a failure, not a skip.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from piltools.inspection import analysis as A
from piltools.inspection.app import JOINTS_CLASS, SUMMARY_CLASS
from piltools.inspection.data import inspect_pair

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("PILTOOLS_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
STEP_MS = 60_000  # per-step timeout (the kernel imports torch on first render)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.slow


def _requirements() -> str | None:
    """Why the browser test cannot run here, or None."""
    if not Path(CHROMIUM).is_file():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    try:
        import voila  # noqa: F401
    except ImportError:
        return "voila is not installed (pip install voila)"
    return None


@pytest.fixture(scope="module")
def served():
    """The app served by the CLI at smoke scale: (url, inspection)."""
    missing = _requirements()
    if missing:
        if IN_CI:
            pytest.fail(f"CI=true but the browser test cannot run: {missing}")
        pytest.skip(missing)
    pair = inspect_pair(scale="smoke", quiet=True)  # trains the smoke pair if needed, computes the cache
    env = dict(os.environ, PILTOOLS_QUIET="1", PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen([sys.executable, "-m", "piltools", "inspect", "--scale", "smoke"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()  # "PIL inspector (...): URL"
        match = re.search(r"(http://127\.0\.0\.1:\d+/\?token=[0-9a-f]+)", line)
        assert match, f"`piltools inspect` printed no URL: {line!r}"
        yield match.group(1), pair.inspection
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _open(page, url: str) -> None:
    """Load the app (one retry: Voila's first page load can hang, docs in NOTEBOOK_TESTING.md)."""
    for attempt in range(2):
        try:
            page.goto(url, wait_until="commit", timeout=STEP_MS)
            page.wait_for_selector(f".{SUMMARY_CLASS}", timeout=STEP_MS * 2)
            return
        except Exception:
            if attempt:
                raise
            time.sleep(2)


def _summary(page) -> str:
    return page.inner_text(f".{SUMMARY_CLASS}").strip()


def _image_src(page) -> str:
    return page.get_attribute(f".{JOINTS_CLASS}", "src") or ""


def _wait_changed(page, read, before: str) -> str:
    deadline = time.time() + STEP_MS / 1000
    while time.time() < deadline:
        now = read(page)
        if now and now != before:
            return now
        time.sleep(0.2)
    raise AssertionError(f"nothing changed within {STEP_MS / 1000:.0f} s (still {before[:80]!r})")


def _select(page, widget: str, value: str) -> None:
    """Choose the option starting with ``value`` in the app's dropdown ``widget`` (CSS class ``pil-<widget>``)."""
    select = page.locator(f".pil-{widget} select")
    texts = select.evaluate("el => Array.from(el.options, o => o.text)")
    matches = [i for i, t in enumerate(texts) if t.replace("\xa0", " ").strip().startswith(value)]  # ipywidgets: nbsp
    assert matches, f"no option of .pil-{widget} starts with {value!r}: {texts}"
    select.select_option(index=matches[0])


def test_sort_and_image_selector_drive_the_shown_image(served):
    from playwright.sync_api import sync_playwright

    url, inspection = served
    shots = Path(tempfile.mkdtemp(prefix="piltools-inspector-"))
    t0 = time.time()
    with sync_playwright() as pw:
        # Playwright gives every launch a fresh temporary profile
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 2400})
        try:
            _open(page, url)
            # initial state: sorted by "most improved", the first row shown
            first = A.top_images(inspection, A.MOST_IMPROVED, 1).index[0]
            page.wait_for_function(f"document.querySelector('.{SUMMARY_CLASS}').innerText.includes('{first}')",
                                   timeout=STEP_MS)
            assert _summary(page) == A.correction_summary(inspection, first)
            src0 = _image_src(page)
            page.screenshot(path=str(shots / "1_most_improved.png"), full_page=True)
            # sort: most harmed -> its first row is shown
            harmed = A.top_images(inspection, A.MOST_HARMED, 1).index[0]
            _select(page, "sort", A.MOST_HARMED)
            if harmed != first:
                _wait_changed(page, _summary, A.correction_summary(inspection, first))
                # the image arrives in its own widget message, possibly after the summary's (as below)
                assert _wait_changed(page, _image_src, src0) != src0
            assert _summary(page) == A.correction_summary(inspection, harmed)
            # image selector: another row -> that image and its summary
            rows = A.sort_table(inspection, A.corrections(inspection), A.MOST_HARMED).index
            other = rows[-1] if rows[-1] != harmed else rows[0]
            before_src = _image_src(page)
            _select(page, "image", other)
            _wait_changed(page, _summary, A.correction_summary(inspection, harmed))
            assert _summary(page) == A.correction_summary(inspection, other)
            assert _wait_changed(page, _image_src, before_src) != before_src
            page.screenshot(path=str(shots / "2_image_selected.png"), full_page=True)
        except BaseException:
            path = shots / "failure.png"
            page.screenshot(path=str(path), full_page=True)
            print(f"inspector browser test failed; screenshot: {path}")
            raise
        finally:
            browser.close()
    print(f"browser steps took {time.time() - t0:.1f} s; screenshots in {shots}")
