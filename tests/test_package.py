"""lossbook as a package: one version, complete metadata, and a wheel that works on its own.

The slow test builds the sdist and the wheel with ``python -m build`` (without build isolation,
so nothing is downloaded), installs the wheel into a fresh virtual environment outside the
source tree, imports every module from there and re-executes one of the book's notebooks
against the installed package, comparing its text outputs with the stored ones. The fresh
environment borrows the test environment's third-party packages (torch, numpy, myst-nb, the
kernel) through a ``.pth`` file, so it installs nothing but lossbook itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

import lossbook

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# The files an sdist is built from; everything else in the repository is the book.
SDIST_SOURCES = ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md", "lossbook")
# A short notebook (a few seconds) that shows lossbook source and glues numbers.
NOTEBOOK = ROOT / "book" / "metric" / "distances-and-triplet.ipynb"
MODULES = sorted(p.stem for p in (ROOT / "lossbook").glob("*.py") if p.stem != "__init__")


def _config_repository_url() -> str:
    text = (ROOT / "_config.yml").read_text(encoding="utf-8")
    match = re.search(r"^repository:\n(?:  .*\n)*?  url: (\S+)", text, flags=re.M)
    assert match, "_config.yml has no repository.url"
    return match.group(1)


def test_version_has_one_source():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lossbook.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", lossbook.__version__), lossbook.__version__


def test_changelog_describes_this_version():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.findall(r"^## \[(\d[^\]]*)\]", text, flags=re.M)
    assert released, "CHANGELOG.md has no released version"
    assert released[0] == lossbook.__version__, "the newest CHANGELOG entry is not lossbook.__version__"
    assert f"[{lossbook.__version__}]: " in text, "the newest CHANGELOG entry has no link"


def test_metadata_is_complete_and_points_at_the_books_repository():
    project = PYPROJECT["project"]
    for key in ("description", "readme", "license", "requires-python", "authors", "classifiers", "urls"):
        assert project.get(key), f"pyproject.toml: project.{key} is missing"
    assert set(project["optional-dependencies"]) >= {"notebook", "test", "bench"}
    repository = _config_repository_url()
    assert project["urls"]["Source"] == repository
    assert project["urls"]["Issues"] == f"{repository}/issues"
    assert all(url.startswith(repository) for k, url in project["urls"].items() if k != "Documentation")
    # The README tells how to install from the repository, at the tag of this version.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"git+{repository}@v{lossbook.__version__}" in readme


def test_release_workflow_publishes_tags_with_trusted_publishing():
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert re.search(r"^on:\n  push:\n    tags:", text, flags=re.M)
    assert "id-token: write" in text
    assert "pypa/gh-action-pypi-publish@" in text
    assert "password:" not in text and "secrets." not in text, "trusted publishing needs no token"


def _fresh_venv(path: Path) -> Path:
    """A new virtual environment that sees the test environment's packages, but not lossbook's source."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Only the directory is added: the .pth files in it (the editable install of the source
    # tree among them) are not processed, so `import lossbook` can only find the wheel.
    Path(site, "_test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _text_outputs(cell: dict) -> list[str]:
    texts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            texts.append(out["name"] + ":" + "".join(out["text"]))
        elif out["output_type"] in ("execute_result", "display_data"):
            for mime, value in sorted(out.get("data", {}).items()):
                if mime.startswith("text/") or mime == "application/papermill.record/text/plain":
                    texts.append(mime + ":" + "".join(value))
    return texts


def test_wheel_installs_into_a_fresh_environment_and_runs_a_notebook(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in SDIST_SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(origin, src / name)
    dist = tmp_path / "dist"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # sdist first, then the wheel built from the unpacked sdist (build's default): proves the sdist
    # is complete. No isolation, so the build uses the installed setuptools and downloads nothing.
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
        check=True,
        capture_output=True,
        env=env,
    )
    version = lossbook.__version__
    wheel = dist / f"lossbook-{version}-py3-none-any.whl"
    sdist = dist / f"lossbook-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in dist.iterdir())
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(f"lossbook-{version}.dist-info/METADATA").decode()
    assert {f"lossbook/{m}.py" for m in [*MODULES, "__init__"]} <= names
    assert not any(n.startswith(("tests/", "book/", "scripts/")) for n in names)
    assert f"\nVersion: {version}\n" in metadata
    assert "\nRequires-Dist: torch>=" in metadata and "\nLicense-Expression: MIT\n" in metadata
    with tarfile.open(sdist) as t:
        members = {m.split("/", 1)[1] for m in t.getnames() if "/" in m}
    assert {"CHANGELOG.md", "LICENSE", "README.md", "pyproject.toml", "lossbook/regression.py"} <= members

    python = _fresh_venv(tmp_path / "venv")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed"]
        + ["--no-warn-script-location", str(wheel)],
        check=True,
        capture_output=True,
        env=env,
        cwd=tmp_path,
    )
    probe = (
        "import importlib, json, lossbook, importlib.metadata as md\n"
        f"mods = {MODULES!r}\n"
        "files = {m: importlib.import_module('lossbook.' + m).__file__ for m in mods}\n"
        "print(json.dumps({'init': lossbook.__file__, 'modules': files, 'version': lossbook.__version__,"
        " 'dist': md.version('lossbook')}))\n"
    )
    run = subprocess.run(
        [str(python), "-c", probe], check=True, capture_output=True, text=True, env=env, cwd=tmp_path
    )
    found = json.loads(run.stdout)
    venv = str(tmp_path / "venv")
    assert found["init"].startswith(venv), found["init"]
    assert all(f.startswith(venv) for f in found["modules"].values()), found["modules"]
    assert found["version"] == found["dist"] == version

    # Re-execute a notebook with the fresh environment's kernel, from a folder outside the tree.
    stored = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    work = tmp_path / "notebook"
    work.mkdir()
    nb_copy = work / NOTEBOOK.name
    probe_cell = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {},
        "outputs": [],
        "source": ["import lossbook\n", "print(lossbook.__file__)"],
    }
    nb_copy.write_text(json.dumps({**stored, "cells": [*stored["cells"], probe_cell]}), encoding="utf-8")
    execute = (
        "import sys, nbformat\n"
        "from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "NotebookClient(nb, kernel_name='python3', timeout=300,"
        " resources={'metadata': {'path': sys.argv[2]}}).execute()\n"
        "nbformat.write(nb, sys.argv[1])\n"
    )
    subprocess.run(
        [str(python), "-c", execute, str(nb_copy), str(work)],
        check=True,
        capture_output=True,
        env=env,
        cwd=work,
        timeout=300,
    )
    fresh = json.loads(nb_copy.read_text(encoding="utf-8"))["cells"]
    code = [c for c in stored["cells"] if c["cell_type"] == "code"]
    fresh_code = [c for c in fresh if c["cell_type"] == "code"]
    assert len(fresh_code) == len(code) + 1
    for old, new in zip(code, fresh_code, strict=False):
        assert not [o for o in new["outputs"] if o["output_type"] == "error"]
        if "nbval-ignore-output" not in old.get("metadata", {}).get("tags", []):
            assert _text_outputs(new) == _text_outputs(old), "".join(old["source"])[:80]
    printed = "".join(fresh_code[-1]["outputs"][0]["text"]).strip()
    assert printed.startswith(venv), f"the notebook imported lossbook from {printed}"
