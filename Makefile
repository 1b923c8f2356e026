# The set-up commands: `make serve` starts the emulator, `make test` runs the gates and the tests, `make bench`
# measures; `make test-fast` is the inner loop (no slow tests, small Hypothesis budgets), `make lint` the gates.
# Each creates .venv and installs the project into it on first use (no other set-up needed).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=
PYTEST_ARGS ?=

.PHONY: serve lint test test-fast bench bench-peers clean nginx chromium nodejs

# The install talks on stderr only: stdout's first line stays the server's ready line, even the first time.
$(VENV)/.installed: pyproject.toml
	@echo "make: installing mock_api into $(VENV) (first use, or pyproject.toml changed)" >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(PY) -m pip install --quiet --upgrade pip >&2
	@$(PY) -m pip install --quiet -e '.[dev]' >&2
	@touch $@

# Quiet before the ready line (@, and the venv step only says something the first time); the server takes
# the terminal's foreground so that Ctrl-C stops it with exit status 0 (mock_api/cli/foreground.py).
serve: $(VENV)/.installed
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

# Everything, slow tests included. pytest exits 5 when it collected no test; any non-zero exit fails this
# target and CI.
test: lint nginx chromium nodejs
	$(PY) -m pytest $(PYTEST_ARGS)
	$(PY) -m pytest --mock-api-scenario pessimistic $(PESSIMISTIC_TESTS) $(PYTEST_ARGS)

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
