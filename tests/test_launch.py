"""The launch buttons' environments: Colab's install cell, Binder's environment.yml, one set of versions.

Colab opens a notebook where lossbook is missing, so every notebook's first code cell installs
the book's version of it (``scripts/install-cell.py`` writes that cell; the test checks every
notebook carries the current one). Binder builds ``environment.yml``, which must install the CPU
build of torch. And the places that name a version agree: ``lossbook.__version__``, the install
cell, the README and the CHANGELOG; torch in ``scripts/setup.sh``, ``requirements.lock``,
``environment.yml`` and ``pyproject.toml``; Python in ``environment.yml``, the lock file and
``pyproject.toml``; the repository in ``_config.yml``, ``pyproject.toml`` and the README.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

import lossbook

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def _script():
    spec = importlib.util.spec_from_file_location("install_cell", ROOT / "scripts" / "install-cell.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


install_cell = _script()
NOTEBOOKS = install_cell.notebooks()


def _text(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _pins(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s*(?:- )?([A-Za-z0-9_.-]+)==(\S+)$", text, flags=re.M))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "book").as_posix())
def test_every_notebook_starts_with_the_install_cell(path):
    nb = nbformat.read(path, as_version=4)
    assert install_cell.problems(nb) == [], "run scripts/install-cell.py, then scripts/run-notebooks.py"
    cell = next(c for c in nb.cells if c.cell_type == "code")
    assert cell.outputs == [], "the install cell printed something where lossbook is installed"


def test_the_install_cell_installs_this_version_only_where_lossbook_is_missing():
    source = install_cell.cell_source()
    assert f'"lossbook[notebook]=={lossbook.__version__}"' in source
    assert 'if importlib.util.find_spec("lossbook") is None:' in source
    assert install_cell.version() == lossbook.__version__
    # Idempotent: a notebook with the current cell is left as it is; an old one is replaced.
    cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("1")]
    nb = nbformat.v4.new_notebook(cells=cells)
    assert install_cell.update(nb, "t") and not install_cell.update(nb, "t")
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"]
    nb.cells[1].source = install_cell.cell_source("0.0.1")
    assert install_cell.problems(nb) == ["the install cell is out of date"]
    assert install_cell.update(nb, "t") and install_cell.problems(nb) == [] and len(nb.cells) == 3


def test_binder_installs_the_cpu_build_of_torch():
    env = _text("environment.yml")
    pip_section = env[env.index("  - pip:\n") :]
    assert f"      - --extra-index-url {CPU_INDEX}\n" in pip_section
    torch = _pins(env)["torch"]
    assert torch.endswith("+cpu"), f"environment.yml pins torch=={torch}, not a CPU build"
    assert "      - --editable .\n" in pip_section, "Binder must install lossbook from the repository"


def test_the_versions_agree():
    lock, env, setup = _text("requirements.lock"), _text("environment.yml"), _text("scripts/setup.sh")
    # torch: setup.sh installs it first; the lock names it; Binder installs its CPU build.
    torch = re.search(r'^TORCH_VERSION="([^"]+)"$', setup, flags=re.M).group(1)
    assert f"torch=={torch} (CPU build)" in lock
    assert _pins(env)["torch"] == f"{torch}+cpu"
    # every other pin is the same in both files
    assert {k: v for k, v in _pins(env).items() if k != "torch"} == _pins(lock)
    # pyproject's ranges admit the pins
    pyproject = _text("pyproject.toml")
    for name in ("torch", "numpy", "matplotlib", "scipy"):
        low = re.search(rf'"{name}>=([0-9.]+)"', pyproject).group(1)
        pinned = torch if name == "torch" else _pins(lock)[name]
        assert _version(pinned) >= _version(low), f"{name}=={pinned} is below pyproject's {name}>={low}"
    # Python: the lock's interpreter is the environment's and satisfies requires-python
    python = re.search(r"^  - python=(\d+\.\d+)$", env, flags=re.M).group(1)
    assert f"(CPython {python})" in lock
    minimum = re.search(r'requires-python = ">=(\d+\.\d+)"', pyproject).group(1)
    assert _version(python) >= _version(minimum)
    # lossbook: the install cell, the CHANGELOG and the README name lossbook.__version__
    assert f"lossbook[notebook]=={lossbook.__version__}" in install_cell.cell_source()
    assert f"## [{lossbook.__version__}]" in _text("CHANGELOG.md")
    assert f'"lossbook[notebook]=={lossbook.__version__}"' in _text("README.md")
    # the repository: _config.yml's address is the one the package and the README give
    url = re.search(r"^repository:\n(?:  .*\n)*?  url: (\S+)", _text("_config.yml"), flags=re.M).group(1)
    assert f'Source = "{url}"' in pyproject
    assert f"git+{url}@v{lossbook.__version__}" in _text("README.md")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.match(r"\d+(?:\.\d+)*", text).group(0).split("."))
