"""Links of the built website: every internal link and anchor resolves; nothing loads from elsewhere.

Static checks of the HTML and CSS (the browser test sees what a page requests at run time):

* every relative ``href`` / ``src`` names a file of the build, and its ``#fragment`` an ``id``
  (or ``name``) in the target page;
* only hyperlinks (``<a>``) may point outside the site; a script, style sheet, image, frame,
  font or preconnect from another host would make the site depend on the network;
* CSS ``url(...)`` / ``@import`` are relative and resolve (the theme's and MathJax's fonts).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser import site_pages
from sitepages import anchors, resolve, soup

RESOURCE_ATTRIBUTES = {"a": "href", "link": "href", "img": "src", "script": "src", "iframe": "src",
                       "source": "src", "video": "src", "audio": "src", "embed": "src", "object": "data"}
NOT_FETCHED = ("mailto:", "tel:", "javascript:", "data:")
CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)|@import\s+(['"])([^'"]+)\3""")


def link_problems(site: Path, page: str) -> list[str]:
    problems = []
    for tag_name, attribute in RESOURCE_ATTRIBUTES.items():
        for tag in soup(site / page).find_all(tag_name, attrs={attribute: True}):
            href = tag[attribute].strip()
            if not href or href.startswith(NOT_FETCHED):
                continue
            parts = urlsplit(href)
            if parts.scheme or href.startswith("//"):
                rel = set(tag.get("rel") or [])
                if tag_name != "a" and not rel & {"canonical", "alternate"}:
                    problems.append(f"<{tag_name} {attribute}={href!r}> loads from another host")
                continue
            target, fragment = resolve(page, href)
            file = site / target
            if file.is_dir():
                file = file / "index.html"
            if not file.is_file():
                problems.append(f"<{tag_name} {attribute}={href!r}>: {target} does not exist")
            elif fragment and file.suffix == ".html" and fragment not in anchors(file):
                problems.append(f"<{tag_name} {attribute}={href!r}>: no id {fragment!r} in {target}")
    return problems


def css_problems(site: Path) -> list[str]:
    problems = []
    for css in sorted(site.rglob("*.css")):
        text = re.sub(r"/\*.*?\*/", "", css.read_text(encoding="utf-8", errors="replace"), flags=re.S)
        for match in CSS_URL.finditer(text):
            url = (match.group(2) or match.group(4)).strip()
            if url.startswith(("data:", "#")):
                continue
            rel = css.relative_to(site).as_posix()
            if urlsplit(url).scheme or url.startswith("//"):
                problems.append(f"{rel}: {url} is on another host")
                continue
            target, _ = resolve(rel, url)
            if not (site / target).is_file():
                problems.append(f"{rel}: {url} does not exist")
    return problems


def test_internal_links_and_anchors_resolve(site, page):
    problems = link_problems(site, page)
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)


def test_style_sheets_load_nothing_from_elsewhere(site):
    problems = css_problems(site)
    assert not problems, "\n".join(problems)


def test_student_edition_links_resolve(student_site):
    pages = site_pages(student_site)
    problems = [f"{page}: {p}" for page in pages for p in link_problems(student_site, page)]
    problems += css_problems(student_site)
    assert not problems, "\n".join(problems)


def test_link_check_catches_broken_links(tmp_path):
    """The checker reports a missing page, a missing anchor and a remote script."""
    (tmp_path / "a.html").write_text(
        '<html><body><h1 id="top">A</h1><a href="b.html#there">ok</a><a href="missing.html">x</a>'
        '<a href="b.html#nowhere">y</a><a href="#top">self</a><a href="https://example.com/">out</a>'
        '<script src="https://cdn.example.com/lib.js"></script></body></html>', encoding="utf-8")
    (tmp_path / "b.html").write_text('<html><body><h1 id="there">B</h1></body></html>', encoding="utf-8")
    (tmp_path / "style.css").write_text("@font-face { src: url(fonts/none.woff) }\n"
                                        "body { background: url('https://cdn.example.com/x.png') }",
                                        encoding="utf-8")
    problems = link_problems(tmp_path, "a.html")
    assert len(problems) == 3, problems
    assert any("missing.html does not exist" in p for p in problems)
    assert any("no id 'nowhere' in b.html" in p for p in problems)
    assert any("loads from another host" in p for p in problems)
    css = css_problems(tmp_path)
    assert len(css) == 2 and "does not exist" in css[0] and "another host" in css[1], css


@pytest.mark.parametrize("href, expected", [
    ("b.html", ("dir/b.html", "")),
    ("../c.html#x", ("c.html", "x")),
    ("#here", ("dir/a.html", "here")),
    ("./sub/d.html?v=1#y%20z", ("dir/sub/d.html", "y z")),
])
def test_resolve(href, expected):
    assert resolve("dir/a.html", href) == expected
