"""Write a generated page of the book, or (``--check``) say whether the committed one is current.

The verified-claims appendix (``_ext/claims.py``) and the conformance appendix
(``_ext/conformance.py``) are Markdown pages rendered from data; their scripts write the page,
and with ``--check`` exit 1 when the committed page differs from a fresh rendering, which the
tests run.
"""

from __future__ import annotations

import sys
from pathlib import Path


def write_or_check(output: Path, text: str, argv: list[str], *, stale: str, root: Path) -> int:
    """Write ``text`` to ``output``; with ``--check`` in ``argv``, only compare (``stale`` says why not)."""
    if "--check" in argv:
        if not output.is_file() or output.read_text(encoding="utf-8") != text:
            print(stale, file=sys.stderr)
            return 1
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output.relative_to(root)}")
    return 0
