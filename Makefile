# Everything a user or CI needs: `make run` and `make test` set up the virtual environment
# from requirements.lock the first time, then reuse it.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export ONCEONLY_DATA_DIR ?= $(CURDIR)/data

.PHONY: install run test ui bench lint lock clean

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed: install it or run make PYTHON=/path/to/python3.11."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@touch $@

run: install
	$(BIN)/onceonly demo

test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup

ui: install
	DAGSTER_HOME=$(ONCEONLY_DATA_DIR)/dagster $(BIN)/onceonly ui

bench: install
	$(BIN)/onceonly bench

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

lock:
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements.lock

clean:
	rm -rf $(VENV)
