# StreamForge: `make demo` and `make test` are the two commands. Everything they need is installed from here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# The install is redone only when pyproject.toml changes.
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
# The dashboard's chart library, from npm (package-lock.json), served by the dashboard itself: no CDN.
WEB := streamforge/dashboard/web
WEB_STAMP := $(WEB)/node_modules/.installed

.PHONY: venv web demo demo-live dev test bench notebook soak clean

venv: $(STAMP) web

web: $(WEB_STAMP)

$(WEB_STAMP): $(WEB)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "npm not found: the dashboard page has no chart library and its browser tests skip"; fi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: venv
	$(BIN)/streamforge demo

demo-live: venv
	$(BIN)/streamforge demo-live --seconds 30

dev: venv
	$(BIN)/streamforge dev

# Two workers, one test file each at a time: most long tests wait on processes and sockets, not on the CPU. Files
# go out in collection order (tests/conftest.py puts the longest first), not xdist's most-tests-first reordering.
test: venv
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder

bench: venv
	$(BIN)/python -m bench

# The 10-minute chaos soak of the live loader (a 35-second one runs in `make test`).
soak: venv
	$(BIN)/python -m bench.soak

notebook: venv
	$(BIN)/python -m pip install -q 'jupyterlab>=4.2'
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1 --no-browser $(if $(filter 0,$(shell id -u)),--allow-root)

clean:
	rm -rf .streamforge
