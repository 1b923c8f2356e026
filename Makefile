# The set-up commands: `make serve` starts the emulator, `make test` runs the gates and the tests, `make bench`
# measures; `make test-fast` is the inner loop (no slow tests, small Hypothesis budgets), `make lint` the gates.
# Each creates .venv and installs the project into it on first use (no other set-up needed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=
PYTEST_ARGS ?=

.PHONY: serve lint test test-fast bench bench-peers clean nginx chromium nodejs

# The installs talk on stderr only: stdout's first line stays the server's ready line, even the first time.
# `make serve` needs only the runtime dependencies (pyproject.toml's [project] dependencies, read with tomllib;
# on Python 3.10, which has none, the package itself): no dev tools, no build of the package (it runs from this
# checkout, the working directory), no bytecode compiled ahead, and a venv without its own pip when this
# Python's pip can install into another (pip >= 22.3, --python): the first run's time is mostly pip's.
# Twice --quiet: no warning either (a pip configured with a missing index warns about it on every install).
RUNTIME_DEPS := import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"])
$(VENV)/.runtime: pyproject.toml
	@echo "make: installing mock_api's runtime dependencies into $(VENV) (first use, or pyproject.toml changed)" >&2
	@test -x $(PY) || $(PYTHON) -m venv --without-pip $(VENV) >&2
	@deps=$$($(PY) -c '$(RUNTIME_DEPS)' 2>/dev/null) || deps="-e ."; \
	if $(PYTHON) -m pip --python $(PY) --version >/dev/null 2>&1; then pip="$(PYTHON) -m pip --python $(PY)"; \
	else $(PY) -m ensurepip --upgrade >/dev/null || exit 1; pip="$(PY) -m pip"; fi; \
	$$pip install --quiet --quiet --disable-pip-version-check --no-compile $$deps >&2
	@touch $@

# `make test` and `make lint`: the package itself (editable) and every dev tool, over the runtime ones.
$(VENV)/.installed: $(VENV)/.runtime pyproject.toml
	@echo "make: installing mock_api and its dev tools into $(VENV) (first use, or pyproject.toml changed)" >&2
	@$(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null
	@$(PY) -m pip install --quiet --upgrade pip >&2
	@$(PY) -m pip install --quiet -e '.[dev]' >&2
	@touch $@

# Quiet before the ready line (@, and the venv step only says something the first time); the server takes
# the terminal's foreground so that Ctrl-C stops it with exit status 0 (mock_api/cli/foreground.py).
serve: $(VENV)/.runtime
	@exec $(PY) -m mock_api.cli.foreground $(ARGS)

# The HTTP-level tests run a second time under the pessimistic scenario (tests marked `lenient` left
# out): the mock's lenient defaults must not be what makes them pass. Only these, to keep CI bounded.
PESSIMISTIC_TESTS ?= tests/test_*http*.py tests/test_cli.py tests/test_verify.py

# The quality gates, zero findings: ruff (rules in pyproject.toml) and mypy --strict over mock_api/, tests/,
# benchmarks/ (the files in pyproject.toml's [tool.mypy]).
lint: $(VENV)/.installed
	$(PY) -m ruff check mock_api tests benchmarks
	$(PY) -m mypy

# Hypothesis profiles (tests/conftest.py): `ci` runs the example counts the tests set, `dev` at most 20 a test.
# HYPOTHESIS_PROFILE set in the environment wins over either default.
test: export HYPOTHESIS_PROFILE ?= ci
test-fast: export HYPOTHESIS_PROFILE ?= dev

# tests/test_scale_*.py, test_cluster_supervisor.py and test_dashboard_cluster.py run nginx (Debian package
# nginx) in front of mock_api processes, as `mock-api serve --workers N` does. Installed here when missing
# and we are root (CI); elsewhere those tests skip, saying why (they fail in CI, CI=true).
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx \
		|| { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx); } \
		|| echo "make: nginx is not installed (and not root): the nginx tests will skip"

# The dashboard's browser tests drive Debian's Chromium (never a browser a test tool downloads): installed
# here when missing and we are root (CI); elsewhere they skip, saying why (they fail in CI, CI=true).
chromium:
	@test -x /usr/bin/chromium \
		|| { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium); } \
		|| echo "make: chromium is not installed (and not root): the dashboard's browser tests will skip"

# examples/node (a Node consumer, tests/test_node_example.py) needs Debian's nodejs: installed here when
# missing and we are root (CI); elsewhere the test skips, saying why (it fails in CI, CI=true).
nodejs:
	@command -v node >/dev/null || command -v nodejs >/dev/null \
		|| { [ "$$(id -u)" = 0 ] && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs); } \
		|| echo "make: nodejs is not installed (and not root): tests/test_node_example.py will skip"

# Everything, slow tests included: both runs go on whatever the first did, then tests/tally.py adds up their
# JUnit reports into one closing line, `N passed, N failed` (', N skipped' when some were), and fails the
# target if either run failed or exited non-zero (pytest exits 5 when it collected no test).
RESULTS ?= $(VENV)/test-results
test: lint nginx chromium nodejs
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	@$(PY) -m pytest --junitxml=$(RESULTS)/main.xml $(PYTEST_ARGS); echo $$? >$(RESULTS)/main.status; \
	$(PY) -m pytest --mock-api-scenario pessimistic --junitxml=$(RESULTS)/pessimistic.xml $(PESSIMISTIC_TESTS) \
		$(PYTEST_ARGS); echo $$? >$(RESULTS)/pessimistic.status; \
	$(PY) tests/tally.py $(RESULTS)/main $(RESULTS)/pessimistic

# The inner loop: the tests not marked `slow` (no subprocess servers, pytester suites, fuzzers), one pass.
test-fast: $(VENV)/.installed
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# Benchmarks: ratios against a bare Flask app and moto's server, measured in one run (see README).
# Uses wrk if it is on PATH, else a bounded Python load generator. BENCH=reads runs one script.
$(VENV)/.bench-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(VENV)/.bench-installed
	$(PY) benchmarks/run.py $(BENCH)

# mock_api side by side with WireMock (its jar from the npm package, run by java), moto's server and a bare
# Flask app: alternating rounds, medians, ratios and the issue-12 targets (docs/performance.md).
# Installs wrk (Debian) and WireMock (npm, into .bench-tools/) when missing; a peer whose tool cannot be
# installed is skipped with a line. BENCH_PEERS_ARGS=--quick for a short run.
BENCH_TOOLS ?= .bench-tools
BENCH_PEERS_ARGS ?=
$(BENCH_TOOLS)/.installed:
	@mkdir -p $(BENCH_TOOLS)
	@if ! command -v npm >/dev/null; then echo "npm not found: WireMock will be skipped"; \
	elif npm install --silent --no-audit --no-fund --prefix $(BENCH_TOOLS) wiremock@3; then touch $@; \
	else echo "npm install wiremock@3 failed: WireMock will be skipped"; fi

bench-peers: $(VENV)/.bench-installed $(BENCH_TOOLS)/.installed
	@command -v wrk >/dev/null || apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }
	cd benchmarks && ../$(PY) bench_peers.py $(BENCH_PEERS_ARGS)

clean:
	rm -rf $(BENCH_TOOLS) $(VENV) build *.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache
