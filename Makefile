# Clubhouse: `make run` to try it, `make test` to check it, `make lint` before committing.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
DEMO ?= 1
PYTHON ?= python3
# pytest-xdist workers: `auto` is one per core (one process where PostgreSQL's user may not create databases).
TEST_WORKERS ?= auto
# Tests marked `long` (soak, long fuzz and load runs) stay out of `make test`; `make test-long` (and CI) runs them.
TEST_MARKS ?= not long
# Compiled modules, and pytest's rewritten test modules, are kept in .pycache/ even where the environment
# says not to write them (PYTHONDONTWRITEBYTECODE): without them every test worker, and every server, CLI
# or worker process a test starts, compiles the app and its libraries again (about 7 s of CPU per worker).
unexport PYTHONDONTWRITEBYTECODE
export PYTHONPYCACHEPREFIX ?= $(CURDIR)/.pycache

.PHONY: run test test-long lint bench translations system-deps system-deps-test clean screenshots

# Debian packages (checked on every run, installed when missing and running as root): scripts/system-deps.sh.
system-deps:
	@scripts/system-deps.sh run

system-deps-test:
	@scripts/system-deps.sh test

# The runtime packages only: what `make run` needs.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# The runtime packages plus the test and lint tools.
$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# Compiled only when a fragment (or the compiler) changed, so `make run` does not pay for it every time.
CATALOGS := app/translations/nl/LC_MESSAGES/messages.mo app/translations/en/LC_MESSAGES/messages.mo
translations: $(CATALOGS)

$(CATALOGS) &: $(VENV)/.installed $(wildcard app/i18n/*/*.po) app/catalogs.py
	$(PY) -m app.catalogs compile
	touch $(CATALOGS)

run: system-deps $(VENV)/.installed translations
	mkdir -p instance
	@# Migrations and the first-run setup in one process (each `flask` command loads the whole app).
	$(FLASK) bootstrap --upgrade $(if $(filter 0,$(DEMO)),--no-demo,--demo)
	@# A job worker beside the server, so syncs happen; it stops with the server.
	$(FLASK) jobs worker & worker=$$!; trap 'kill $$worker' EXIT INT TERM; \
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: system-deps-test $(VENV)/.installed-dev translations
	$(PY) -m pytest -n $(TEST_WORKERS) -m "$(TEST_MARKS)" $(PYTEST_ARGS)

# pytest's exit status 5 means no test carried the mark: nothing long to run yet is not a failure.
test-long: system-deps-test $(VENV)/.installed-dev translations
	$(PY) -m pytest -n $(TEST_WORKERS) -m long $(PYTEST_ARGS) || [ $$? -eq 5 ]

# Chain-scale figures as ratios against baselines of the same run (bench/chain_bench.py), appended
# to docs/benchmarks.md. The 100,000-member database is built once by bench/chain_data.py (about
# 2 minutes) and reused. BENCH_ARGS="--only search,member --runs 100" for a part.
bench: $(VENV)/.installed translations
	@scripts/system-deps.sh bench
	$(PY) bench/chain_bench.py --record $(BENCH_ARGS)

# The main pages in Dutch and English, at 1280x800 and 820x1180, into docs/screenshots/ (shown in README).
screenshots: system-deps-test $(VENV)/.installed-dev translations
	$(PY) -m pytest -p no:xdist -q tests/browser/screenshots.py

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/bandit --quiet --severity-level medium --recursive app wsgi.py

clean:
	rm -rf $(VENV) app/translations .pycache
