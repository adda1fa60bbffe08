# Loss Functions: An Executable Guide — the commands the README documents.
#
#   make book   build the website into _build/html (sets up .venv on first use)
#   make test   unit tests + every notebook re-executed with nbval + the book built with -W
#   make lab    open the notebooks in JupyterLab with the same environment
#
# Each target sets up its own environment (scripts/setup.sh, idempotent).

VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= 2
BUILD_FLAGS := --warningiserror --nitpick --keep-going

.PHONY: setup book test unit notebooks lab clean

setup:
	@scripts/setup.sh

book: setup
	$(BIN)/jupyter-book build . $(BUILD_FLAGS)
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile
	$(BIN)/jupyter-book build . $(BUILD_FLAGS)
	@echo "All tests passed and the book builds without warnings: file://$(CURDIR)/_build/html/index.html"

unit: setup
	$(BIN)/python -m pytest tests -n $(JOBS)

notebooks: setup
	$(BIN)/python -m pytest book -n $(JOBS) --dist loadfile

lab: setup
	$(BIN)/jupyter lab book

clean:
	rm -rf _build .pytest_cache .hypothesis
