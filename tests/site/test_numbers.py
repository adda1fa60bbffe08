"""Numbers read as a textbook prints them, and the prose agrees with the output beside it.

Every page's prose (code cells, outputs and literal code excluded) is read for numbers in a
program's e-notation (``1e-05``, ``2.265e+11``): the book writes ``10⁻⁵`` and ``2.27 × 10¹¹``
(:func:`lossbook.notebook.format_number`). A number that the prose quotes must not appear in
the same page's output with a different last digit, and no output shows reST markup from a
docstring. ``tests/site/test_checker.py`` shows each check failing on synthetic pages.
"""

from __future__ import annotations

from sitepages import digit_mismatches, e_notation, markup_in_outputs, soup


def test_no_e_notation_in_prose(site, content_page):
    found = e_notation(soup(site / content_page))
    assert not found, f"{content_page} writes numbers in e-notation in its prose: {found}"


def test_prose_and_output_agree_on_quoted_numbers(site, content_page):
    found = digit_mismatches(soup(site / content_page))
    assert not found, f"{content_page}: the prose and the output disagree:\n  " + "\n  ".join(found)


def test_no_docstring_markup_in_outputs(site, content_page):
    found = markup_in_outputs(soup(site / content_page))
    assert not found, f"{content_page} shows reST markup in an output:\n  " + "\n  ".join(found)
