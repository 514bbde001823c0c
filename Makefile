# Two commands on a fresh machine: `make demo` (set up, run the close on a generated inbox) and
# `make test` (set up, run the whole test suite). Each creates its own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Two pytest-xdist workers, one a core. loadfile runs each test module on one worker, so a module-scoped
# fixture is built once; the session's expensive warehouses and the reference close are built once for both
# workers (tests/conftest.py built_once). --no-loadscope-reorder: modules are dealt in collection order, which
# tests/conftest.py sets longest first (xdist's own order, most tests first, left the longest modules to the
# end and one worker waiting on the other). `make test PARALLEL=` runs in one process.
PARALLEL ?= -n 2 --dist loadfile --no-loadscope-reorder

# Python's bytecode caches are written (gitignored): with PYTHONDONTWRITEBYTECODE set, as on the machines we
# measured on, every test process compiled our modules again and pytest rewrote every test module and Hypothesis
# again (1.7 s of each test worker's start), and every `shebao` a test runs compiled the flows again.
unexport PYTHONDONTWRITEBYTECODE

# The tests' temporary folders in memory when the machine has a tmpfs with room (scripts/test-tmpdir.sh prints it,
# or nothing: the system's default); their warehouses' syncs to disk were about a tenth of `make test-fast`.
# Expanded where a test target uses it (`=`), so other targets never run the script.
TEST_ENV = $(addprefix TMPDIR=,$(shell bash scripts/test-tmpdir.sh))

.PHONY: demo test test-fast lint typecheck bench setup clean

# uv installs the same pins as pip, compiling the dependencies' bytecode as pip does, in a third of the time (a new
# environment: 22 s against 60 s, bench/README.md, twentieth round). Where uv cannot be had, pip installs them.
UV_VERSION := 0.13.8

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	($(BIN)/pip install --quiet uv==$(UV_VERSION) \
		&& $(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e '.[dev]') \
		|| ($(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -e '.[dev]')
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/shebao demo

test: $(STAMP)
	bash scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(TEST_ENV) $(BIN)/python -m pytest $(PARALLEL) --durations=30

# The unit tests only (no slow or browser test): a quick loop while changing code, meant to stay under a minute
# on two free cores. Expensive warehouses are session fixtures in tests/conftest.py, built once: copy them.
test-fast: $(STAMP)
	$(BIN)/ruff check .
	$(TEST_ENV) $(BIN)/python -m pytest $(PARALLEL) -m "not slow and not browser" -q tests/transforms tests/expectations tests/warehouse

typecheck: $(STAMP)
	$(BIN)/mypy

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	cd bench && ../$(BIN)/python ingest.py && ../$(BIN)/python ledger.py && ../$(BIN)/python validate.py \
		&& ../$(BIN)/python close.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
