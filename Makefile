# Loss Functions: An Executable Guide — the commands the README documents.
#
#   make book     build the website into _build/html (sets up .venv on first use)
#   make student  build the student edition (exercise solutions left out) into _build/student/_build/html
#   make test     lint (ruff) + unit tests + every notebook re-executed with nbval, then once more on a
#                 perturbed floating-point path + both editions built with -W
#                 + the website's tests (every page in headless Chromium, links, accessibility,
#                 student edition)
#   make lab      open the notebooks in JupyterLab with the same environment
#
# Each target sets up what it needs (scripts/setup.sh: .venv; scripts/fetch-mathjax.sh: the
# MathJax the website serves; scripts/install-browser.sh: Chromium for the site tests), all
# idempotent.

VENV   ?= .venv
BIN    := $(VENV)/bin
JOBS   ?= 2
BUILD_FLAGS := --warningiserror --nitpick --keep-going
SITE         := _build/html
STUDENT_OUT  := _build/student
STUDENT_SITE := $(STUDENT_OUT)/_build/html

.PHONY: setup browser book student test lint site-tests unit notebooks notebooks-perturbed lab clean

setup:
	@VENV=$(VENV) scripts/setup.sh
	@VENV=$(VENV) scripts/fetch-mathjax.sh

browser:
	@scripts/install-browser.sh

book: setup
	$(BIN)/jupyter-book build . $(BUILD_FLAGS)
	@echo "The book is built: open file://$(CURDIR)/_build/html/index.html"

student: setup
	LOSSBOOK_EDITION=student $(BIN)/jupyter-book build . --path-output $(STUDENT_OUT) $(BUILD_FLAGS)
	@echo "The student edition (no solutions) is built: open file://$(CURDIR)/$(STUDENT_SITE)/index.html"

test: setup browser
	$(BIN)/ruff check lossbook tests book scripts _ext conftest.py
	$(BIN)/ruff format --check lossbook tests book scripts _ext conftest.py --exclude tests/site
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile
	$(MAKE) --no-print-directory notebooks-perturbed
	$(BIN)/jupyter-book build . $(BUILD_FLAGS)
	LOSSBOOK_EDITION=student $(BIN)/jupyter-book build . --path-output $(STUDENT_OUT) $(BUILD_FLAGS)
	$(MAKE) --no-print-directory site-tests
	@echo "All tests passed and the book builds without warnings: file://$(CURDIR)/$(SITE)/index.html"

# The website's tests on the existing builds (make book student): screenshots in _build/screenshots.
site-tests: setup browser
	$(BIN)/python -m pytest tests/site -p no:xdist --site $(SITE) --student-site $(STUDENT_SITE)

lint: setup
	$(BIN)/ruff check lossbook tests book scripts _ext conftest.py
	$(BIN)/ruff format --check lossbook tests book scripts _ext conftest.py --exclude tests/site

unit: setup
	$(BIN)/python -m pytest tests -n $(JOBS)

notebooks: setup
	$(BIN)/python -m pytest book -n $(JOBS) --dist loadfile

# The notebooks once more on another floating-point path: MKL's conditional-numerical-
# reproducibility code path for any x86 processor, ATen's baseline (non-vectorised) CPU
# kernels and one thread instead of two. Every stored output must still match, so no printed
# or glued number depends on the machine that runs the book.
PERTURBED := LOSSBOOK_NBVAL_PASS=perturbed MKL_CBWR=COMPATIBLE ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
             OPENBLAS_NUM_THREADS=1

notebooks-perturbed: setup
	$(PERTURBED) $(BIN)/python -m pytest book -n $(JOBS) --dist loadfile

lab: setup
	$(BIN)/jupyter lab book

clean:
	rm -rf _build .pytest_cache .hypothesis
