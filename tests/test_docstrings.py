"""The API reference's examples: every public function of lossbook has one, and each one runs.

The appendix page ``book/appendix/api.md`` renders these docstrings with Sphinx autodoc; here
each module's examples run as doctests, compared exactly with the output the docstring shows.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import pytest

import lossbook

MODULES = sorted(m.name for m in pkgutil.iter_modules(lossbook.__path__) if not m.name.startswith("_"))


def public_functions(module) -> list[str]:
    """The functions of ``module``'s public API: its ``__all__``, else its own public functions."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, obj in vars(module).items() if not n.startswith("_") and callable(obj)]
    return [
        n
        for n in names
        if inspect.isfunction(getattr(module, n)) and getattr(module, n).__module__ == module.__name__
    ]


def test_every_module_is_in_the_api_reference():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "book" / "appendix" / "api.md").read_text(encoding="utf-8")
    for name in MODULES:
        assert f".. automodule:: lossbook.{name}\n" in page, f"lossbook.{name} is not in the API reference"


@pytest.mark.parametrize("name", MODULES)
def test_every_public_function_has_an_example(name):
    module = importlib.import_module(f"lossbook.{name}")
    missing = [f for f in public_functions(module) if ">>> " not in (getattr(module, f).__doc__ or "")]
    assert not missing, f"lossbook.{name}: no example in the docstring of {missing}"


@pytest.mark.parametrize("name", MODULES)
def test_examples_run_as_shown(name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    module = importlib.import_module(f"lossbook.{name}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = [t for t in finder.find(module, module.__name__, globs={}) if t.examples]
    assert tests, f"lossbook.{name} has no examples"
    report = []
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)


@pytest.mark.parametrize("name", MODULES)
def test_docstrings_hold_no_control_characters(name):
    """A backslash lost from a docstring's maths (``\\theta`` read as a tab and ``heta``) shows as
    broken text in the API reference: no docstring may hold a control character."""
    module = importlib.import_module(f"lossbook.{name}")
    docs = {"module": module.__doc__ or ""}
    docs |= {fn: getattr(module, fn).__doc__ or "" for fn in public_functions(module)}
    bad = {where: repr(doc[:60]) for where, doc in docs.items() if any(c < " " and c != "\n" for c in doc)}
    assert not bad, f"control characters in docstrings: {bad}"
