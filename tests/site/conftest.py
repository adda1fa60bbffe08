"""Tests of the *built* website: real browser, links and anchors, accessibility, student edition.

They need a build, so a plain ``pytest`` (unit tests and notebooks) skips them; ``make test``
builds both editions and then runs::

    pytest tests/site --site _build/html --student-site _build/student/_build/html

Pages are discovered by globbing the built HTML, never listed, so new chapters are checked as
soon as they are in the table of contents.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from browser import find_chromium, is_redirect, site_pages  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    group = parser.getgroup("site", "tests of the built website (tests/site)")
    group.addoption("--site", default=None, metavar="DIR",
                    help="the built website to test, e.g. _build/html; without it tests/site is skipped")
    group.addoption("--student-site", default=None, metavar="DIR",
                    help="the student edition's build (make student), for the student-edition tests")


def _option(config, name: str) -> Path | None:
    value = config.getoption(name, default=None)
    return Path(value).resolve() if value else None


def site_or_skip(config) -> Path:
    site = _option(config, "--site")
    if site is None:
        pytest.skip("the site tests need a build: run them with --site _build/html (make test does)")
    if not (site / "index.html").is_file():
        pytest.fail(f"--site {site}: no index.html there; build the book first (make book)")
    return site


def student_site_or_skip(config) -> Path:
    site = _option(config, "--student-site")
    if site is None:
        pytest.skip("the student-edition tests need --student-site (make test builds it)")
    if not (site / "index.html").is_file():
        pytest.fail(f"--student-site {site}: no index.html there; run make student first")
    return site


def pytest_generate_tests(metafunc):
    """Parametrise per-page tests over the pages the build actually has.

    ``page``: every HTML page of the site; ``content_page``: those that are not a mere
    forward (Jupyter Book's top-level ``index.html`` forwards to the front page).
    """
    for name in ("page", "content_page"):
        if name not in metafunc.fixturenames:
            continue
        site = _option(metafunc.config, "--site")
        pages = site_pages(site) if site is not None and site.is_dir() else []
        if name == "content_page":
            pages = [p for p in pages if not is_redirect(site / p)]
        metafunc.parametrize(name, pages or [pytest.param(None, marks=pytest.mark.skip(
            reason="no built site given (--site)"))])


@pytest.fixture(scope="session")
def site(request) -> Path:
    return site_or_skip(request.config)


@pytest.fixture(scope="session")
def student_site(request) -> Path:
    return student_site_or_skip(request.config)


@pytest.fixture(scope="session")
def chromium() -> str:
    executable = find_chromium()
    if executable is None:
        pytest.fail("Chromium is not installed: run scripts/install-browser.sh (make test does)")
    return executable
