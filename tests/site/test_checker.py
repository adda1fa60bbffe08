"""The browser check can fail: it is run on small synthetic pages with known defects.

Each page below has exactly one kind of defect (plus a clean page as the control), is served
from a temporary folder with the book's own MathJax, and goes through the same checker as
the book's pages. The check must pass the clean page and name the defect of every other one.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from browser import check_pages
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "_ext"))
from offline_site import MATHJAX_ENTRY, mathjax_source  # noqa: E402

HEAD = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,">
<script>window.MathJax = {{"options": {{"processHtmlClass":
  "tex2jax_process|mathjax_process|math|output_area"}}}}</script>
<script defer src="mathjax/tex-chtml.js"></script></head><body>"""

PAGES = {
    "clean.html": "<h1>Clean</h1><p>Loss <span class='math'>\\(\\ell(r) = \\tfrac12 r^2\\)</span>.</p>"
                  "<div class='math'>\\[\\sum_i r_i^2\\]</div><img src='dot.png' alt='A dot.'>",
    "broken-image.html": "<h1>Broken image</h1><img src='missing.png' alt='A figure that is not there.'>",
    "external-image.html": "<h1>External image</h1><img src='https://example.com/figure.png' alt='Remote.'>",
    "math-not-rendered.html": "<h1>Math outside MathJax's reach</h1>"
                              "<p class='mathjax_ignore'>The loss \\(\\ell(r) = r^2\\) left as TeX.</p>",
    "dollar-math-not-rendered.html": "<h1>Dollar math MathJax does not look for</h1>"
                                     "<p>The loss $\\ell(r) = r^2$ left as TeX.</p>",
    "math-error.html": "<h1>TeX error</h1><p><span class='math'>\\(x^2^3\\)</span></p>",
    "undefined-macro.html": "<h1>Undefined macro</h1>"
                            "<p><span class='math'>\\(\\lossfunction(r)\\)</span></p>",
    "missing-tex-extension.html": "<h1>TeX extension not on the site</h1>"
                                  "<p><span class='math'>\\(\\require{nosuchpackage} x\\)</span></p>",
    "console-error.html": "<h1>Console error</h1><script>console.error('something broke');</script>",
    "exception.html": "<h1>Exception</h1><script>undefinedFunction();</script>",
    "no-heading.html": "<p>A page without any heading.</p>",
}

NO_MATHJAX = {
    "mathjax-missing.html": "<h1>No MathJax</h1><p><span class='math'>\\(x^2\\)</span></p>",
}

EXPECTED = {
    "broken-image.html": ["image did not load: missing.png", "failed request:"],
    "external-image.html": ["request left localhost (blocked): https://example.com/figure.png",
                            "image did not load: https://example.com/figure.png"],
    "math-not-rendered.html": ["TeX not rendered by MathJax"],
    "dollar-math-not-rendered.html": ["TeX not rendered by MathJax"],
    "math-error.html": ["MathJax error"],
    "undefined-macro.html": ["MathJax error"],
    "missing-tex-extension.html": ["failed request:"],
    "console-error.html": ["console error: something broke"],
    "exception.html": ["console error: uncaught: ReferenceError: undefinedFunction is not defined"],
    "no-heading.html": ["no heading on the page"],
    "mathjax-missing.html": ["TeX not rendered by MathJax", "math elements but MathJax is absent"],
}


@pytest.fixture(scope="module")
def synthetic_reports(site, chromium, tmp_path_factory):
    # `site` only gates these tests with the other site tests (they need Chromium and MathJax).
    source = mathjax_source()
    assert (source / MATHJAX_ENTRY).is_file(), "MathJax is not installed: run scripts/fetch-mathjax.sh"
    root = tmp_path_factory.mktemp("synthetic-site")
    (root / "mathjax").symlink_to(source, target_is_directory=True)
    Image.new("RGB", (8, 8), "#0072B2").save(root / "dot.png")
    for name, body in PAGES.items():
        (root / name).write_text(HEAD.format(title=name) + body + "</body></html>", encoding="utf-8")
    for name, body in NO_MATHJAX.items():
        head = HEAD.split("<script>")[0] + "</head><body>"
        (root / name).write_text(head.format(title=name) + body + "</body></html>", encoding="utf-8")
    return check_pages(root, [*PAGES, *NO_MATHJAX], executable=chromium)


def test_clean_page_passes(synthetic_reports):
    report = synthetic_reports["clean.html"]
    assert report.problems() == []
    assert report.typeset == 2 and report.images == 1 and report.headings == 1


@pytest.mark.parametrize("defective_page", sorted(EXPECTED))
def test_defect_is_reported(synthetic_reports, defective_page):
    page = defective_page
    problems = synthetic_reports[page].problems()
    for expected in EXPECTED[page]:
        assert any(expected in problem for problem in problems), (page, expected, problems)


# The raw-markup check is static (it reads the HTML that MathJax later typesets), so its
# synthetic pages need no browser.
MARKUP_PAGES = {
    "glue-in-math": "<p>Overflow: <span class='math notranslate nohighlight'>"
                    "\\(e^{1000} \\approx 10^{\\,\\text{{glue:text}`ce_log10_e1000:.2f`}}\\)</span>.</p>",
    "role-in-prose": "<p>The definition {prf:ref}`def-huber` was not resolved.</p>",
    "citation": "<p>As shown by {cite:p}`huber1964robust`.</p>",
    "colon-fence": "<p>:::{admonition} Learning goals</p>",
    "display-math": "<div class='math notranslate nohighlight'>\\[ W = {glue:text}`w` \\]</div>",
    "eval-unresolved": "<p>The fitted scale is {eval}`f&quot;{glued.lap_scale:.4f}&quot;`.</p>",
}
MARKUP_CLEAN = (
    "<p>Glued: 0.2500, math <span class='math'>\\(x^{2}\\)</span>.</p>"
    "<div class='cell docutils container'><div class='cell_input docutils container'><pre>"
    "glue(&quot;k&quot;, 1.0)  # {glue:text}`k` in a code cell is an example</pre></div></div>"
    "<p>Write <code>{glue:text}`key:.3f`</code> to quote a value.</p>"
)


def _markup_soup(body: str):
    from bs4 import BeautifulSoup

    return BeautifulSoup(f"<html><body><article class='bd-article'>{body}</article></body></html>",
                         "html.parser")


def test_raw_markup_check_passes_a_clean_page():
    from sitepages import raw_markup

    assert raw_markup(_markup_soup(MARKUP_CLEAN)) == []


@pytest.mark.parametrize("name", sorted(MARKUP_PAGES))
def test_raw_markup_check_finds_unprocessed_markup(name):
    from sitepages import raw_markup

    found = raw_markup(_markup_soup(MARKUP_PAGES[name]))
    assert found, f"{name}: the raw markup was not reported"


# The number checks are static too. Each defective page has one defect; the clean page has
# the forms the checks must accept.
NUMBER_CLEAN = (
    "<p>The gap is 1.2 × 10⁻⁶ and the MSE 2.27 × 10¹¹ dollars²; the minimum lies at z = -3.84,"
    " the objective is 1.775201 and the accuracy 0.837.</p>"
    "<div class='cell docutils container'><div class='cell_input docutils container'><pre>"
    "tol = 1e-05</pre></div><div class='cell_output docutils container'><pre>"
    "min at z = -3.84, objective 1.775201, accuracy 0.8365, tol 1e-05</pre></div></div>"
)
E_NOTATION_PAGES = {
    "small": "<p>The gap is <span class='pasted-text'>1.2e-06</span>.</p>",
    "large": "<p>The MSE is <span class='pasted-text'>2.265e+11</span> dollars².</p>",
    "bare-power": "<p>A tolerance of 1e-05 is enough.</p>",
}
MISMATCH_PAGES = {  # the two cases of the focal-loss and hinge pages as the book had them
    "focal": "<p>The second derivative is least at <span class='math'>\\(z =\\)</span> -3.85.</p>"
             "<div class='cell_output docutils container'><pre>"
             "gamma = 2: min second derivative -0.04719 at z = -3.84</pre></div>",
    "hinge": "<p>The dual gives objective <span class='pasted-text'>1.775202</span>.</p>"
             "<div class='cell_output docutils container'><pre>dual QP : objective 1.775201</pre></div>",
    "rounded": "<p>At the optimum the training loss 0.249 is reached.</p>"
               "<div class='cell_output docutils container'><pre>loss 0.24951</pre></div>",
}


def test_number_checks_pass_a_clean_page():
    from sitepages import digit_mismatches, e_notation, markup_in_outputs

    page = _markup_soup(NUMBER_CLEAN)
    assert (e_notation(page), digit_mismatches(page), markup_in_outputs(page)) == ([], [], [])


@pytest.mark.parametrize("name", sorted(E_NOTATION_PAGES))
def test_e_notation_in_prose_is_found(name):
    from sitepages import e_notation

    assert e_notation(_markup_soup(E_NOTATION_PAGES[name])), f"{name}: e-notation not reported"


@pytest.mark.parametrize("name", sorted(MISMATCH_PAGES))
def test_prose_output_mismatch_is_found(name):
    from sitepages import digit_mismatches

    assert digit_mismatches(_markup_soup(MISMATCH_PAGES[name])), f"{name}: mismatch not reported"


def test_docstring_markup_in_an_output_is_found():
    from sitepages import markup_in_outputs

    page = _markup_soup("<div class='cell_output docutils container'><pre>"
                        "Huber loss, :math:`\\delta` the threshold.\n.. math::\n  x</pre></div>")
    assert markup_in_outputs(page)
