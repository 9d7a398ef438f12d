# Two commands set up everything on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test lint messages clean system-deps

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

.env:
	cp .env.example .env

# Debian's gettext compiles the catalogues; Debian's chromium runs the browser tests.
system-deps:
	@command -v msgfmt >/dev/null && test -x /usr/bin/chromium || { \
	  echo "installing gettext and chromium from Debian"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gettext chromium >/dev/null; }

install: $(STAMP) .env system-deps
	$(BIN)/python manage.py compilemessages --ignore=.venv -v 0

run: install
	$(BIN)/python -m config.devrun

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Refresh the translation catalogues after changing strings.
messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hant -l ja --ignore=.venv --ignore=var --no-obsolete
	$(BIN)/python manage.py makemessages -d djangojs -l zh_Hant -l ja --ignore=.venv --ignore=var --ignore=staticfiles --no-obsolete

clean:
	rm -rf var/ .pytest_cache
