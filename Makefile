# The README's two commands: `make run` (embedded main job) and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint ci clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

# Import and train only when not done yet, print demo logins, then web + workers + Milvus Lite server.
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py setup_demo $(if $(MOVIELENS_PATH),--path "$(MOVIELENS_PATH)")
	$(BIN)/python manage.py serve_all

test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf var/

ci:
	bash .ci/run
