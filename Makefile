# StreamForge: `make demo` and `make test` are the two commands. Everything they need is installed from here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The install is redone only when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: venv demo dev test bench notebook soak clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(BIN)/streamforge demo

dev: venv
	$(BIN)/streamforge dev

test: venv
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python -m bench

notebook: venv
	$(BIN)/python -m pip install -q 'jupyterlab>=4.2'
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --no-browser

clean:
	rm -rf .streamforge
