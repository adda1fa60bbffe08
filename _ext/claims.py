"""The verified-claims appendix, generated from its registry.

``book/appendix/claims.yml`` records every claim of the syllabus that the book checks: the
chapter it belongs to, the notebook section that computes it (page and heading anchor), the
claim as usually stated, what the book computes (Markdown in which ``{{key}}`` pastes a value
glued by that notebook, ``{{chapter/page::key:.3f}}`` one glued by another), the verdict on
the one scale below and its reason. Optionally ``stated: {key: …, value: …}`` gives the
number the claim states, which the computed value must match when the verdict is *correct*
and must not match when it is *wrong*.

    python _ext/claims.py          # write book/appendix/verified-claims.md
    python _ext/claims.py --check  # exit 1 if the page is not what the registry gives

``tests/test_verified_claims.py`` runs the check, and :func:`problems` on the registry: every
page, anchor and key must exist, every verdict be on the scale, a claim repeated under one
``id`` carry one verdict, and every stated value agree with its verdict.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generated import write_or_check  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
REGISTRY = BOOK / "appendix" / "claims.yml"
OUTPUT = BOOK / "appendix" / "verified-claims.md"

SCALE = {
    "correct": "the computation confirms the claim as stated.",
    "imprecise": "true with a missing factor, condition or convention (a dropped $1/n$, a "
    "sufficient condition stated as the threshold, a rate that needs an unstated assumption); "
    "the chapter gives the precise form.",
    "wrong": "false as stated; the chapter shows the right value or form in a **Check the numbers** box.",
    "convention-dependent": "true or false depending on a convention the statement does not "
    "fix (a sign, a reduction, a parametrisation); the chapter names the conventions.",
    "not checkable": "not a statement a computation can decide (a recommendation, a "
    "historical attribution, code for a library the book does not run); the reason is given.",
}
FIELDS = {"chapter", "page", "section", "claim", "computed", "verdict", "reason", "id", "stated", "syllabus"}
REQUIRED = ("chapter", "page", "section", "claim", "computed", "verdict")
PLACEHOLDER = re.compile(r"\{\{(?:(?P<page>[\w/-]+)::)?(?P<key>[\w-]+)(?::(?P<spec>[^}]*))?\}\}")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def toc_chapters() -> list[tuple[str, list[str]]]:
    """The numbered chapters in reading order: (folder, [pages]) from ``_toc.yml``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    numbered = next(part for part in toc["parts"] if part.get("numbered"))
    chapters = []
    for chapter in numbered["chapters"]:
        folder = chapter["file"].split("/")[1]
        pages = [s["file"].removeprefix("book/") for s in chapter.get("sections", [])]
        chapters.append((folder, pages))
    return chapters


def _source(page: str) -> tuple[Path, list[str]] | None:
    """The page's file and its Markdown (one string per notebook Markdown cell)."""
    for suffix in (".ipynb", ".md"):
        path = BOOK / f"{page}{suffix}"
        if path.is_file():
            if suffix == ".md":
                return path, [path.read_text(encoding="utf-8")]
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            return path, ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    return None


def slugify(title: str) -> str:
    """The anchor MyST gives a heading (``myst_heading_anchors``), from its plain text."""
    return re.sub(r"[^\w\u4e00-\u9fff\- ]", "", title.lower().replace(" ", "-"))


@cache
def headings(page: str) -> dict[str, str]:
    """The page's heading anchors, each with its heading as written (math included)."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    found = _source(page)
    if found is None:
        return {}
    md = MarkdownIt("commonmark").use(dollarmath_plugin)
    anchors: dict[str, str] = {}
    for text in found[1]:
        tokens = md.parse(text)
        for i, token in enumerate(tokens):
            if token.type != "heading_open":
                continue
            inline = tokens[i + 1]
            plain = "".join(c.content for c in inline.children if c.type in ("text", "code_inline"))
            slug = base = slugify(plain)
            n = 0
            while slug in anchors:
                n += 1
                slug = f"{base}-{n}"
            anchors[slug] = inline.content
    return anchors


@cache
def glued(page: str) -> dict[str, str]:
    """The keys the stored notebook ``page`` glues, with their text/plain values."""
    path = BOOK / f"{page}.ipynb"
    if not path.is_file():
        return {}
    values = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                data = out.get("data", {})
                plain = next((v for k, v in data.items() if k.endswith("text/plain")), "")
                values[name] = "".join(plain) if isinstance(plain, list) else plain
    return values


def number(text: str) -> float:
    """A glued value as a float: a plain literal, or a quoted Number such as '2.27 × 10¹¹'."""
    value = ast.literal_eval(text)
    if isinstance(value, str):
        value = value.replace(",", "")
        if "10" in value and ("×" in value or value.lstrip("-").startswith("10")):
            mantissa, _, power = value.rpartition("10")
            mantissa = mantissa.replace("×", "").strip() or "1"
            sign = -1.0 if mantissa.startswith("-") and mantissa != "-" else 1.0
            if mantissa == "-":
                mantissa, sign = "1", -1.0
            return sign * abs(float(mantissa)) * 10.0 ** int(power.translate(_SUPERSCRIPT))
        return float(value)
    return float(value)


def _rounds_to(computed: float, stated: float) -> bool:
    """Whether ``computed`` rounded to the significant digits of ``stated`` equals it."""
    if stated == 0:
        return computed == 0
    digits = len(repr(float(stated)).split("e")[0].replace("-", "").replace(".", "").strip("0")) or 1
    return float(f"{computed:.{digits - 1}e}") == float(f"{stated:.{digits - 1}e}")


def expand(text: str, page: str) -> str:
    """``{{key}}`` placeholders as glue roles, relative to the appendix page."""

    def role(m: re.Match) -> str:
        target = m["page"] or page
        return f"{{glue:text}}`../{target}.ipynb::{m['key']}:{m['spec'] or 's'}`"

    return PLACEHOLDER.sub(role, text)


def load(path: Path = REGISTRY) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["claims"]


def problems(rows: list[dict]) -> list[str]:
    """Everything wrong with the registry ``rows``: missing pages, anchors or keys, bad verdicts."""
    found = []
    chapters = {folder for folder, _ in toc_chapters()}
    verdicts: dict[str, set[str]] = {}
    for n, row in enumerate(rows, 1):
        name = f"row {n} ({row.get('page')}: {str(row.get('claim'))[:50]!r})"
        if missing := [f for f in REQUIRED if not row.get(f)]:
            found.append(f"{name}: missing {', '.join(missing)}")
            continue
        if unknown := set(row) - FIELDS:
            found.append(f"{name}: unknown fields {sorted(unknown)}")
        if row["chapter"] not in chapters:
            found.append(f"{name}: chapter {row['chapter']!r} is not in _toc.yml")
        if _source(row["page"]) is None:
            found.append(f"{name}: no page book/{row['page']}")
        elif row["section"] not in headings(row["page"]):
            found.append(f"{name}: no heading with anchor #{row['section']} in {row['page']}")
        if row["verdict"] not in SCALE:
            found.append(f"{name}: verdict {row['verdict']!r} is not on the scale {list(SCALE)}")
        elif row["verdict"] == "not checkable" and not row.get("reason"):
            found.append(f"{name}: a claim that is not checkable needs the reason")
        for m in PLACEHOLDER.finditer(f"{row['claim']} {row['computed']}"):
            target = m["page"] or row["page"]
            if m["key"] not in glued(target):
                found.append(f"{name}: {target} glues no {m['key']!r}")
        if row.get("id"):
            verdicts.setdefault(row["id"], set()).add(row["verdict"])
        if stated := row.get("stated"):
            key, target = stated.get("key"), stated.get("page", row["page"])
            if key not in glued(target):
                found.append(f"{name}: stated value's key {key!r} is not glued by {target}")
            elif row["verdict"] in ("correct", "wrong"):
                agrees = _rounds_to(number(glued(target)[key]), float(stated["value"]))
                if agrees != (row["verdict"] == "correct"):
                    found.append(
                        f"{name}: the claim states {stated['value']}, the book computes "
                        f"{glued(target)[key]}, and the verdict is {row['verdict']!r}"
                    )
    for claim_id, seen in sorted(verdicts.items()):
        if len(seen) > 1:
            found.append(f"claim {claim_id!r} has several verdicts: {sorted(seen)}")
    return found


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(rows: list[dict]) -> str:
    """The appendix page for ``rows``, chapters in the order and numbering of the book."""
    by_chapter: dict[str, list[dict]] = {}
    for row in rows:
        by_chapter.setdefault(row["chapter"], []).append(row)
    counts = Counter(row["verdict"] for row in rows)
    out = [
        "# Verified claims",
        "",
        "Every checkable statement of the book's source syllabus — each number, formula, gradient,",
        "identity, rate, property and recommendation — is recomputed or asserted in the chapter",
        "that covers it, and has a row here: the claim as usually stated, what the book computes,",
        "the verdict, and a link to the section that computes it. The values are not typed in:",
        "each is pasted from the notebook that computes it, so when a notebook changes, this page",
        "changes with it. A statement that no computation can decide has a row too, marked so,",
        "with the reason. The page is generated from a registry (`book/appendix/claims.yml`,",
        "rendered by `_ext/claims.py`), and the test suite checks that every section, value and",
        "verdict named in it exists and agrees.",
        "",
        "Verdicts, one scale for the whole book (a claim made in several chapters gets the same",
        "verdict in each):",
        "",
    ]
    out += [f"- **{verdict}** — {criterion}" for verdict, criterion in SCALE.items()]
    out += [
        "",
        f"{len(rows)} claims: " + ", ".join(f"{counts[v]} {v}" for v in SCALE if counts[v]) + ".",
        "",
    ]
    for number_, (folder, _pages) in enumerate(toc_chapters(), 1):
        chapter_rows = by_chapter.get(folder, [])
        if not chapter_rows:
            continue
        title = _chapter_title(folder)
        out += [
            f"## Chapter {number_} — {title}",
            "",
            "| where | claim (as usually stated) | computed | verdict |",
            "| --- | --- | --- | --- |",
        ]
        for row in chapter_rows:
            page = row["page"]
            heading = _cell(headings(page)[row["section"]])
            where = f"[{_page_title(page)}, § {heading}](../{page}{_suffix(page)}#{row['section']})"
            verdict = f"**{row['verdict']}**" + (f" — {row['reason']}" if row.get("reason") else "")
            cells = [where, expand(row["claim"], page), expand(row["computed"], page), expand(verdict, page)]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out)


def _suffix(page: str) -> str:
    found = _source(page)
    return found[0].suffix if found else ""


def _page_title(page: str) -> str:
    found = _source(page)
    for text in found[1] if found else []:
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return page


def _chapter_title(folder: str) -> str:
    for line in (BOOK / folder / "index.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return folder


def main(argv: list[str]) -> int:
    stale = (
        f"{OUTPUT.relative_to(ROOT)} is not what {REGISTRY.relative_to(ROOT)} gives: "
        "run python _ext/claims.py"
    )
    return write_or_check(OUTPUT, render(load()), argv, stale=stale, root=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
