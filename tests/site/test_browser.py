"""Every page of the built website, loaded in headless Chromium with the network cut off.

The site is served on 127.0.0.1 and any request that would leave the machine is blocked and
reported. For each page: no console errors, no failed requests, every image loaded, all math
rendered by MathJax (no TeX left, no MathJax error), at least one heading. Screenshots of the
front page and of the first chapter page with a figure are saved in ``_build/screenshots``.
A second pass opens the site from disk (``file://``) with networking disabled, as a reader
with a zip of ``_build/html`` and no connection would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import Browser, check_pages, is_redirect, serve, site_pages
from sitepages import front_page, has_figure, has_math, reading_order


def screenshot_dir(site: Path) -> Path:
    """``_build/screenshots`` for a site in ``_build/html``."""
    return site.parent / "screenshots"


def chapter_page(site: Path) -> str | None:
    """The first page after the front page, in reading order, that shows a figure."""
    order = reading_order(site)
    with_figure = [p for p in order[1:] if has_figure(site, p)]
    if with_figure:
        return with_figure[0]
    return order[1] if len(order) > 1 else None


@pytest.fixture(scope="session")
def browser_reports(site, chromium):
    pages = [p for p in site_pages(site) if not is_redirect(site / p)]
    shots = {front_page(site): screenshot_dir(site) / "front-page.png"}
    chapter = chapter_page(site)
    if chapter is not None:
        shots[chapter] = screenshot_dir(site) / "chapter-page.png"
    return check_pages(site, pages, screenshots=shots, executable=chromium)


def test_page_in_browser(browser_reports, content_page):
    report = browser_reports[content_page]
    problems = report.problems()
    assert not problems, f"{content_page}:\n  " + "\n  ".join(problems)


def test_math_is_typeset_where_the_page_has_math(browser_reports, site):
    """MathJax ran on every page whose HTML has math (not merely: no TeX was left over)."""
    with_math = [p for p in browser_reports if has_math(site, p)]
    assert with_math, "no page of the book has math: the math checks would check nothing"
    untypeset = [p for p in with_math if browser_reports[p].typeset == 0]
    assert not untypeset, f"pages with math that MathJax did not typeset: {untypeset}"


def test_screenshots_saved(browser_reports, site):
    front = screenshot_dir(site) / "front-page.png"
    assert front.is_file() and front.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert front.stat().st_size > 10_000, "the front page's screenshot looks blank"
    if chapter_page(site) is not None:
        chapter = screenshot_dir(site) / "chapter-page.png"
        assert chapter.is_file() and chapter.stat().st_size > 10_000


def test_opens_from_disk_with_networking_disabled(site, chromium):
    """``_build/html/index.html`` opened as a file, offline: math and figures render."""
    order = reading_order(site)
    math_page = next((p for p in order if has_math(site, p)), None)
    figure_page = next((p for p in order if has_figure(site, p)), None)
    pages = ["index.html"] + [p for p in dict.fromkeys([math_page, figure_page]) if p]
    with Browser(chromium, allow_file=True, offline=True) as browser:
        reports = {p: browser.check((site / p).as_uri(), p) for p in pages}
    for page, report in reports.items():
        assert not report.problems(), f"{page} (file://, offline):\n  " + "\n  ".join(report.problems())
    assert reports["index.html"].final_url == (site / front_page(site)).as_uri()
    if math_page:
        assert reports[math_page].typeset > 0, f"MathJax typeset nothing on {math_page} offline"
    if figure_page:
        assert reports[figure_page].images > 0


def test_dark_mode(site, chromium):
    """With the reader's system in dark mode the theme turns dark and the pages still check out."""
    pages = list(dict.fromkeys(p for p in (front_page(site), chapter_page(site)) if p))
    with serve(site) as base, Browser(chromium, color_scheme="dark") as browser:
        for page in pages:
            name = "front-page-dark.png" if page == front_page(site) else "chapter-page-dark.png"
            report = browser.check(base + page, page, screenshot=screenshot_dir(site) / name)
            assert not report.problems(), f"{page} (dark):\n  " + "\n  ".join(report.problems())
            assert browser.evaluate("document.documentElement.dataset.theme") == "dark", page
