# Two commands on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
APT_PACKAGES := chromium fonts-noto-core softhsm2 poppler-utils

.PHONY: run test install system-packages translations secrets migrate demo lint check-imports pytest bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP) translations

# Debian packages pip cannot bring: the browser for the browser tests, fonts, the software token.
system-packages:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

translations: $(STAMP)
	$(BIN)/pybabel compile -d app/translations -D messages

translations-update: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -k lazy_gettext -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l vi

# The installation's secrets, written once into instance/secrets.json (mode 600) and never regenerated:
# a new SIGNING_SECRET would lose the stored signing keys, a new AUDIT_SECRET would break the audit chain.
secrets: install
	$(BIN)/python -m app.instance_secrets init

migrate: install secrets
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) processes sync
	@if $(FLASK) demo load; then $(FLASK) signing test-pki && $(FLASK) demo mail && $(FLASK) audit checkpoint; else echo "(demo data already loaded)"; fi

run: demo
	@echo
	@echo "Demo accounts (username, role, agency, initial password — changed at first login):"
	@$(FLASK) demo users | column -t
	@echo
	@echo "Open http://127.0.0.1:$${PORT:-5000}/  (Ctrl-C stops web and worker)"
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/python -m worker & \
	  $(FLASK) run --host 127.0.0.1 --port $${PORT:-5000}

lint: install
	$(BIN)/ruff check app tests worker bench config.py wsgi.py
	$(BIN)/ruff format --check app tests worker bench config.py wsgi.py
	$(BIN)/mypy app

check-imports: install
	$(BIN)/lint-imports

pytest: install system-packages
	$(BIN)/pytest -q $(PYTEST_ARGS)

test: lint check-imports pytest

bench: install
	$(BIN)/python bench/engine_step.py

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
