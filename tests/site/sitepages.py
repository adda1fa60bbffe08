"""Reading the built site's HTML: pages, forwards, reading order, links, headings, images."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup


@functools.cache
def _parse(path: str, mtime: float) -> BeautifulSoup:
    return BeautifulSoup(Path(path).read_text(encoding="utf-8", errors="replace"), "html.parser")


def soup(file: Path) -> BeautifulSoup:
    return _parse(str(file), file.stat().st_mtime)


@functools.cache
def _anchors(path: str, mtime: float) -> frozenset[str]:
    page = _parse(path, mtime)
    found = {tag["id"] for tag in page.find_all(id=True)}
    found |= {tag["name"] for tag in page.find_all(attrs={"name": True})}
    return frozenset(found)


def anchors(file: Path) -> frozenset[str]:
    """Every ``id`` and ``name`` in a page: what a link's ``#fragment`` can point at.

    Read once per page (and build): a page with many links into a long page, such as the API
    reference linking to its own entries, would otherwise search that page once per link.
    """
    return _anchors(str(file), file.stat().st_mtime)


def forward_target(site: Path, page: str) -> str | None:
    """Where a ``<meta http-equiv="refresh">`` page forwards to, relative to ``site``."""
    meta = soup(site / page).find("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)})
    if meta is None:
        return None
    match = re.search(r"url=(.+)$", meta.get("content", ""), re.I)
    if not match:
        return None
    return resolve(page, match.group(1).strip().strip("'\""))[0]


def resolve(page: str, href: str) -> tuple[str, str]:
    """A relative ``href`` on ``page`` as (path relative to the site root, fragment)."""
    parts = urlsplit(href)
    base = Path(page).parent
    target = (base / unquote(parts.path)).as_posix() if parts.path else page
    # normalise a/b/../c
    stack: list[str] = []
    for piece in target.split("/"):
        if piece in ("", "."):
            continue
        if piece == "..":
            if stack:
                stack.pop()
            continue
        stack.append(piece)
    return "/".join(stack), unquote(parts.fragment)


def front_page(site: Path) -> str:
    """The book's front page (the top-level index.html, or where it forwards to)."""
    return forward_target(site, "index.html") or "index.html"


def reading_order(site: Path) -> list[str]:
    """The pages in reading order: the front page, then each page's "next" link."""
    order, page = [], front_page(site)
    while page and page not in order and (site / page).is_file():
        order.append(page)
        link = soup(site / page).select_one("a.right-next[href]")
        page = resolve(page, link["href"])[0] if link else None
    return order


def article(page_soup: BeautifulSoup):
    """The page's own content (the theme's <article>), without navigation and sidebars."""
    return page_soup.select_one("article.bd-article") or page_soup.select_one("main") or page_soup.body


def has_figure(site: Path, page: str) -> bool:
    content = article(soup(site / page))
    return content is not None and content.find("img") is not None


def has_math(site: Path, page: str) -> bool:
    content = article(soup(site / page))
    return content is not None and content.select_one(".math") is not None


# MyST markup that should have been processed into HTML. A role that the build leaves alone
# (for instance inside $...$ math, where roles are not parsed) reaches the reader verbatim.
RAW_MARKUP = re.compile(
    r"\{(?:glue|prf|cite|ref|numref|eq|doc|download|term|abbr|math|eval|sub|sup|index)(?::[\w:-]*)?\}"
    r"|:::|^\s*```\{",
    re.M,
)
# Code cells, their outputs and literal code are shown as written: markup there is an example.
VERBATIM = "pre, code, kbd, samp, div.cell_input, div.cell_output, div.highlight, div.output, dt.sig"


# Each page's prose is read by three checks (raw markup, e-notation, quoted numbers); it is
# extracted once per parsed page. The page itself is kept with its entry, so a key (the
# object's id) is never reused for another page while the entry exists.
_PROSE: dict[int, tuple[BeautifulSoup, tuple[str, ...]]] = {}


def prose_text(page_soup: BeautifulSoup) -> list[str]:
    """The text of a page's prose: its article without code cells, outputs or literal code.

    Typeset math is included as its TeX source (the text MathJax reads), so markup left
    inside math is found too.
    """
    entry = _PROSE.get(id(page_soup))
    if entry is None or entry[0] is not page_soup:
        entry = _PROSE[id(page_soup)] = (page_soup, tuple(_prose_text(page_soup)))
    return list(entry[1])


def _prose_text(page_soup: BeautifulSoup) -> list[str]:
    content = article(page_soup)
    if content is None:
        return []
    content = BeautifulSoup(str(content), "html.parser")  # a copy: the cached page stays whole
    for tag in content.select(VERBATIM):
        tag.decompose()
    for tag in content.find_all(["script", "style"]):
        if tag.get("type", "").startswith("math/tex"):
            continue
        tag.decompose()
    return [s for s in content.stripped_strings]


def raw_markup(page_soup: BeautifulSoup) -> list[str]:
    """Every piece of prose on the page that still shows a MyST role or directive."""
    return [text for text in prose_text(page_soup) if RAW_MARKUP.search(text)]


# A number as a program prints it: 1e-05, 2.265e+11, 1.80E-03.
E_NOTATION = re.compile(r"(?<![\w.#])[-−]?\d+(?:\.\d+)?[eE][-+−]?\d+(?![\w.])")


def e_notation(page_soup: BeautifulSoup) -> list[str]:
    """Every number in the page's prose written in e-notation (a textbook writes a × 10ⁿ)."""
    return [m.group() for text in prose_text(page_soup) for m in E_NOTATION.finditer(text)]


def outputs_text(page_soup: BeautifulSoup) -> list[str]:
    """The text of the page's code-cell outputs."""
    content = article(page_soup)
    if content is None:
        return []
    return [t for out in content.select("div.cell_output") for t in out.stripped_strings]


# A word and the decimal number right after it ("objective 1.775201", "z = -3.84"): the
# word is how a sentence and a printed line name the same quantity.
_TOKEN = re.compile(r"[A-Za-z]+|\d+\.\d+|\d+")


def _labelled_decimals(text: str) -> list[tuple[str, str]]:
    tokens = _TOKEN.findall(text)
    return [
        (tokens[i - 1].lower(), tok)
        for i, tok in enumerate(tokens)
        if "." in tok and i > 0 and tokens[i - 1].isalpha()
    ]


def _significant(number: str) -> int:
    return len(number.replace(".", "").lstrip("0"))


def digit_mismatches(page_soup: BeautifulSoup) -> list[str]:
    """Numbers the prose quotes that the page's output prints with a different last digit.

    A quoted number (three or more significant digits) is paired with the printed numbers
    that follow the same word ("at z = -3.85" in the prose, "at z = -3.84" in the output).
    It is reported when none of them rounds to it, but one lies within a unit of its last
    digit: the same quantity rounded twice, or from two values. A printed number that ends
    in 5 may be rounded either way.
    """
    from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal

    printed = _labelled_decimals(" ".join(outputs_text(page_soup)))
    found = []
    for word, quoted in sorted(set(_labelled_decimals(" ".join(prose_text(page_soup))))):
        if _significant(quoted) < 3:
            continue
        unit = Decimal(1).scaleb(-len(quoted.split(".")[1]))
        value = Decimal(quoted)
        places = len(quoted.split(".")[1])
        same = [Decimal(p) for w, p in printed if w == word and len(p.split(".")[1]) >= places]
        roundings = {p.quantize(unit, how) for p in same for how in (ROUND_HALF_UP, ROUND_HALF_DOWN)}
        close = [str(p) for p in same if abs(p - value) <= unit]
        if close and value not in roundings:
            found.append(f"prose '{word} {quoted}', output '{word} {' / '.join(close)}'")
    return found


# reST that a docstring shown as plain text would bring into an output.
RST_MARKUP = re.compile(r":math:`|\.\. math::")


def markup_in_outputs(page_soup: BeautifulSoup) -> list[str]:
    """Every code-cell output on the page that shows reST markup (``:math:``, ``.. math::``)."""
    return [text for text in outputs_text(page_soup) if RST_MARKUP.search(text)]
