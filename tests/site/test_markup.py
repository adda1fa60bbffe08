"""No page shows raw MyST markup to its reader.

A MyST role or directive that the build did not process reaches the reader as text: a glue
role written inside ``$...$`` math (roles are not parsed there), a misspelt directive, an
unclosed colon fence. This reads every page's prose, with code cells, outputs and literal code
excluded and typeset math included as its TeX source, and fails on ``{glue``, ``{prf:``,
``{cite``, ``{ref``, other roles, and ``:::`` fences. ``tests/site/test_checker.py`` shows it
failing on synthetic pages.
"""

from __future__ import annotations

from sitepages import raw_markup, soup


def test_no_raw_markup_in_prose(site, content_page):
    found = raw_markup(soup(site / content_page))
    assert not found, f"{content_page} shows unprocessed MyST markup:\n  " + "\n  ".join(found)
