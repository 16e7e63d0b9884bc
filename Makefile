# The course's commands. `make lab` and `make test` are all a new user needs (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
# The stamp is newer than every dependency file once they are installed; editing one reinstalls.
STAMP := $(VENV)/.installed
DEPS := pyproject.toml constraints.txt
LAB_ARGS ?=
# Jupyter refuses to start as root unless told; containers and CI machines often run as root.
ROOT_FLAG := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
NOTEBOOKS ?= notebooks
# nbval and the stored outputs render widgets as static figures (see lessonlib/widgets.py);
# `make lab` must not, so this is set per command rather than exported.
STATIC := LESSONLIB_STATIC=1
export PYTHONHASHSEED := 0
# GNU OpenMP (torch's CPU thread pool) spins while it waits for work by default. On the 2-core
# virtual machines the course is tested on, that made every multi-threaded tensor operation cost
# about 7 ms (a 1M-element multiply: 7.8 ms with 2 threads, 0.33 ms with PASSIVE; a 100k one:
# 6.6 ms vs 0.014 ms), which swamped every benchmark and slowed the notebooks. PASSIVE threads
# sleep instead; on a dedicated multi-core machine it costs microseconds per operation. Override
# with `make ... OMP_WAIT_POLICY=ACTIVE` to compare.
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: help install lab test lint format unit nbval nb outputs bench figures clean test-browser test-repeat test-offline browser

.PHONY: slides student stamp-slides book test-colab cheatsheet

help:
	@echo "make lab     - install (first time) and open the course in JupyterLab"
	@echo "make test    - install if needed, then lint, unit tests and every notebook under nbval"
	@echo "make nb NB=04  - run one notebook's nbval check"
	@echo "make outputs - re-execute every notebook in a fresh kernel and store its outputs"
	@echo "make bench   - run the performance comparisons in benchmarks/"
	@echo "make slides  - one offline reveal.js deck (HTML + PDF) per notebook in build/slides/ (SLIDES_PDF=0: HTML only)"
	@echo "make book    - the course as a static, searchable HTML site in build/book/ (from stored outputs)"
	@echo "make student - student copies (no solutions, no outputs) in build/student/"
	@echo "make cheatsheet - every notebook's interview answer on one page: docs/cheatsheet.md, build/cheatsheet/ (HTML + PDF)"
	@echo "make test-browser - open every notebook in JupyterLab and every slide deck in headless Chromium (screenshots in test-artifacts/)"
	@echo "make test-repeat  - run every notebook 3 times offline; checked numbers must agree (NB=03 for one)"
	@echo "make test-offline - run every notebook once offline against its stored checked outputs"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(DEPS) | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e '.[dev,lab,book]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=$(NOTEBOOKS) $(ROOT_FLAG) $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check lessonlib tests benchmarks tools notebooks book conftest.py
	$(BIN)/ruff format --check lessonlib tests benchmarks tools notebooks book conftest.py

format: $(STAMP)
	$(BIN)/ruff check --fix lessonlib tests benchmarks tools notebooks book conftest.py
	$(BIN)/ruff format lessonlib tests benchmarks tools notebooks book conftest.py

unit: $(STAMP)
	$(BIN)/python -m pytest tests --durations=10

nbval: $(STAMP)
	$(STATIC) $(BIN)/python -m pytest --nbval-lax --nbval-current-env --durations=10 $(NOTEBOOKS)

nb: $(STAMP)
	$(STATIC) $(BIN)/python -m pytest --nbval-lax --nbval-current-env $(NOTEBOOKS)/$(NB)*.ipynb

test: lint unit nbval

outputs: $(STAMP)
	for nb in $(NOTEBOOKS)/[0-9][0-9]_*.ipynb; do \
	  echo "executing $$nb"; \
	  $(STATIC) $(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=600 "$$nb" || exit 1; \
	done
	$(BIN)/python tools/clean_notebooks.py

bench: $(STAMP)
	$(BIN)/python -m benchmarks

figures: $(STAMP)
	$(BIN)/python tools/export_figures.py

# Debian's Chromium, driven by Playwright's Python package (no browser download). Needs root for apt.
CHROMIUM ?= /usr/bin/chromium
REPEAT_RUNS ?= 3
NB_GLOB = $(if $(NB),$(or $(wildcard $(NOTEBOOKS)/$(NB)*.ipynb),$(error no notebook matches NB=$(NB))),)

browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; \
	fi

test-browser: $(STAMP) browser
	rm -rf test-artifacts/screenshots
	NB='$(NB)' CHROMIUM='$(CHROMIUM)' $(BIN)/python -m pytest tests/browser -m browser \
	  -p no:cacheprovider --durations=0

test-repeat: $(STAMP)
	$(BIN)/python tools/check_repeatable.py --runs $(REPEAT_RUNS) $(NB_GLOB)

test-offline: $(STAMP)
	$(BIN)/python tools/check_repeatable.py --runs 1 $(NB_GLOB)

# Colab, simulated: the notebook from outside the repository in a fresh Colab-like venv (tools/simulate_colab.py).
test-colab: $(STAMP)
	$(BIN)/python tools/simulate_colab.py --nb $(or $(NB),04)

# The book site: every notebook a chapter, rendered from its stored outputs (no kernel), offline.
book: $(STAMP)
	rm -rf build/book
	$(BIN)/python -m sphinx -b html -q -W --keep-going -c book . build/book
	@echo "book: open build/book/index.html"

# Instructor kit (docs/teaching_guide.md): decks (reveal.js and KaTeX from vendor/, one self-contained
# HTML file each, plus a PDF printed by headless Chromium) and student copies, built offline.
SLIDES_PDF ?= 1
slides: $(STAMP) $(if $(filter 1,$(SLIDES_PDF)),browser)
	$(BIN)/python tools/slides.py build --out build/slides $(if $(filter 1,$(SLIDES_PDF)),--pdf)

student: $(STAMP)
	$(BIN)/python tools/student.py --out build/student

# The cheat sheet: docs/cheatsheet.md (a book page) and an HTML + PDF copy (headless Chromium) in build/cheatsheet/.
cheatsheet: $(STAMP) browser
	$(BIN)/python tools/cheatsheet.py --html build/cheatsheet --pdf

# Write slide metadata into the notebooks themselves (metadata only; decks do not need it).
stamp-slides: $(STAMP)
	$(BIN)/python tools/slides.py stamp

clean:
	rm -rf $(VENV) build test-artifacts .pytest_cache .ruff_cache
