# oa-supervisor: the two commands a user needs are `make run` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
PIP := $(VPY) -m pip
HAVE_CARGO := $(shell command -v cargo >/dev/null 2>&1 && echo yes)
NATIVE_SRC := $(shell find rust_ext -name '*.rs' 2>/dev/null) Cargo.toml
PY_META := pyproject.toml
WEB_SRC := $(shell find web -type f 2>/dev/null)
WEB_OUT := oa_actors/web/dist/manifest.json

.PHONY: screenshots run test install runtime native node web chromium pytest cargo-test vitest lint bench bench-parsers soak clean

# `make run` installs the runtime dependencies only (no test or lint tools), and builds the web app.
run: runtime web
	$(VENV)/bin/oa-supervisor run

# Lint first (ruff, format, mypy, stubtest, clippy): CI runs `make test`, so it enforces them.
# `chromium` installs Debian's browser for the real-browser tests (tests/web) when missing.
test: install node web chromium
	$(MAKE) --no-print-directory lint pytest cargo-test vitest

runtime: .stamp-runtime

install: .stamp-install

$(VENV)/bin/activate:
	$(PY) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Installs the package editable. With cargo, maturin builds the native extension (release);
# without it, the pure-Python twin is installed and the CLI says so at start.
.stamp-runtime: $(VENV)/bin/activate $(PY_META) $(NATIVE_SRC)
ifeq ($(HAVE_CARGO),yes)
	@echo "Installing oa-supervisor and its runtime dependencies into $(VENV), and building the native"
	@echo "JSONL extension with maturin (Rust, release build: about 30 s the first time)..."
	$(PIP) install -q -e .
else
	@echo "Rust toolchain (cargo) not found: installing the pure-Python twin only." >&2
	$(VPY) scripts/install_pure.py --runtime
endif
	@touch $@

# The same plus the dev extras (pytest, mypy, ruff, maturin...) for `make test`.
.stamp-install: $(VENV)/bin/activate $(PY_META) $(NATIVE_SRC)
ifeq ($(HAVE_CARGO),yes)
	@echo "Installing oa-supervisor with its dev tools into $(VENV), and building the native JSONL"
	@echo "extension with maturin (Rust, release build: about 30 s the first time)..."
	$(PIP) install -q -e '.[dev]'
else
	@echo "Rust toolchain (cargo) not found: installing the pure-Python twin only." >&2
	$(VPY) scripts/install_pure.py
endif
	@touch $@ .stamp-runtime

node: .stamp-node

# `npm install` (not `npm ci`): with this machine's npm settings the lock file omits other
# platforms' optional packages, which `npm ci` rejects; `npm install` keeps the locked versions.
.stamp-node: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	@touch $@

# The web app (web/, served by the bridge): hashed bundles into the Python package
# (oa_actors/web/dist), built with esbuild from the locked node_modules.
web: $(WEB_OUT)

$(WEB_OUT): $(WEB_SRC) package-lock.json .stamp-node
	node web/build.mjs

# Headless Chromium for the browser tests (tests/web, benches): Debian's package, installed when
# missing (CI runs as root); quiet when present.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium (apt) for the browser tests" >&2; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install chromium' (the browser tests need it)" >&2; exit 1; \
	  fi; }

pytest: install
	$(VPY) -m pytest -q

cargo-test:
ifeq ($(HAVE_CARGO),yes)
	cargo test --quiet
else
	@echo "cargo not found: skipping cargo test" >&2
endif

vitest: node
	npx tsc --noEmit -p convex
	npx tsc --noEmit -p web
	npx vitest run

# The gates: ruff (line length included) and ruff format on every Python file, mypy --strict on the
# package ([tool.mypy]), the native stub against the built extension, clippy pedantic (Cargo.toml).
lint: install node
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy oa_actors
ifeq ($(HAVE_CARGO),yes)
	$(VPY) -m mypy.stubtest oa_actors._oa_native
	cargo clippy --quiet --all-targets -- -D warnings
	cargo clippy --quiet --features python -- -D warnings
else
	@echo "cargo not found: skipping stubtest and clippy (no native extension)" >&2
endif

# Real timings (benchmarks are disabled, i.e. smoke-run once, in plain `make test`).
bench: install node
	$(VPY) -m pytest benches -q --benchmark-enable --benchmark-only --benchmark-columns=min,mean,median,ops -s

# The chaos soak (tests/soak): kill -9 of random actors every 2 s, live chunked writes with heavy
# rows and hostile files, a Convex emulator outage; then store and Convex must equal `parse`.
# SOAK_SECONDS (default 300) sets its length; SOAK_ARGS passes options (python -m tests.soak -h).
SOAK_SECONDS ?= 300
# Refresh the README's screenshots (docs/screenshots) from the real-browser page test; a plain
# `make test` writes them under target/screenshots so the checkout stays clean.
screenshots: install node web chromium
	OA_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(VPY) -m pytest -q tests/web/test_pages.py tests/web/test_hostile.py

soak: install node
	SOAK_SECONDS=$(SOAK_SECONDS) $(VPY) -m tests.soak $(SOAK_ARGS)

# The JSON parser comparison (Rust, criterion; rust_ext/benches/json_parsers.rs) on the corpora the
# Python benches use (generated and cached under target/ first). See docs/benchmarks.md.
bench-parsers: install
	$(VPY) benches/heldout.py 200
	$(VPY) benches/codex_corpus.py 300
	cargo bench --bench json_parsers

clean:
	rm -rf $(VENV) target node_modules .stamp-* oa_actors/web/dist
