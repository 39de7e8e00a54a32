# Clubhouse: `make run` to try it, `make test` to check it.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
PORT ?= 5000
DEMO ?= 1
PYTHON ?= python3

.PHONY: run test translations lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(VENV)/.installed
	$(PY) -m app.catalogs compile

run: $(VENV)/.installed translations
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) bootstrap $(if $(filter 0,$(DEMO)),--no-demo,--demo)
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: $(VENV)/.installed translations
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) app/translations
