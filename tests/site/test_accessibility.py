"""Accessibility of the built website: alt text, heading order, figures readable in both themes.

* every ``<img>`` has alt text that describes it (not empty, not a file name);
* headings start at ``<h1>`` and never skip a level going down (h2 -> h4);
* the page declares its language;
* figures keep an opaque light background, so in the site's dark mode they still show their
  dark text and the palette on white, and the palette has graphics contrast (3:1) against the
  page backgrounds the built theme actually uses, light and dark.

(The palette's contrast against the style's own backgrounds is a unit test in tests/.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image
from sitepages import article, soup

from lossbook import plotting

FILE_NAME = re.compile(r"^[\w./-]+\.(png|jpe?g|svg|gif|webp)$", re.I)
GRAPHICS_CONTRAST = 3.0  # WCAG 2.1, 1.4.11 non-text contrast


def alt_problems(site: Path, page: str) -> list[str]:
    problems = []
    for img in soup(site / page).find_all("img"):
        alt = (img.get("alt") or "").strip()
        src = img.get("src", "?")
        if not alt:
            problems.append(f"<img src={src!r}> has no alt text")
        elif FILE_NAME.match(alt) or alt == src:
            problems.append(f"<img src={src!r}> has a file name for alt text: {alt!r}")
    return problems


def heading_problems(site: Path, page: str) -> list[str]:
    content = article(soup(site / page))
    levels = [int(h.name[1]) for h in content.find_all(re.compile("^h[1-6]$"))] if content else []
    problems = []
    if levels and levels[0] != 1:
        problems.append(f"the first heading is h{levels[0]}, not h1")
    for before, after in zip(levels, levels[1:], strict=False):
        if after > before + 1:
            problems.append(f"h{before} is followed by h{after} (a level skipped)")
    return problems


def test_images_have_alt_text(site, content_page):
    problems = alt_problems(site, content_page)
    assert not problems, f"{content_page}:\n  " + "\n  ".join(problems)


def test_headings_in_order(site, content_page):
    problems = heading_problems(site, content_page)
    assert not problems, f"{content_page}:\n  " + "\n  ".join(problems)


def test_page_declares_its_language(site, content_page):
    assert soup(site / content_page).html.get("lang"), content_page


def _theme_backgrounds(site: Path) -> dict[str, str]:
    found = {}
    for css in (site / "_static").rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        for theme, block in re.findall(r'html\[data-theme="?(light|dark)"?\]\s*\{([^}]*)\}', text):
            match = re.search(r"--pst-color-background:\s*(#[0-9a-fA-F]{3,6})", block)
            if match:
                found.setdefault(theme, match.group(1))
    return found


def test_palette_contrast_on_the_sites_backgrounds(site):
    backgrounds = _theme_backgrounds(site)
    assert set(backgrounds) == {"light", "dark"}, f"theme backgrounds not found in the CSS: {backgrounds}"
    low = [(name, colour, theme, round(plotting.contrast_ratio(colour, bg), 2))
           for theme, bg in backgrounds.items() for name, colour in plotting.PALETTE.items()
           if plotting.contrast_ratio(colour, bg) < GRAPHICS_CONTRAST]
    assert not low, f"palette colours below {GRAPHICS_CONTRAST}:1 on the site's backgrounds: {low}"


def test_figures_have_an_opaque_light_background(site):
    figures = sorted((site / "_images").glob("*.png")) if (site / "_images").is_dir() else []
    if not figures:
        pytest.skip("the book has no PNG figures yet")
    bad = []
    for file in figures:
        with Image.open(file) as image:
            rgba = image.convert("RGBA")
            w, h = rgba.size
            for corner in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
                r, g, b, a = rgba.getpixel(corner)
                if a < 255 or plotting.contrast_ratio(f"#{r:02x}{g:02x}{b:02x}", "#000000") < 15:
                    bad.append(f"{file.name} corner {corner}: rgba {(r, g, b, a)}")
                    break
    assert not bad, "figures without an opaque light background (unreadable in dark mode):\n" + "\n".join(bad)


def test_checks_catch_missing_alt_and_skipped_levels(tmp_path):
    (tmp_path / "p.html").write_text(
        '<html lang="en"><body><main><h1>T</h1><h3>skipped</h3><img src="a.png">'
        '<img src="b.png" alt="b.png"><img src="c.png" alt="A rising curve."></main></body></html>',
        encoding="utf-8")
    assert alt_problems(tmp_path, "p.html") == [
        "<img src='a.png'> has no alt text",
        "<img src='b.png'> has a file name for alt text: 'b.png'",
    ]
    assert heading_problems(tmp_path, "p.html") == ["h1 is followed by h3 (a level skipped)"]
