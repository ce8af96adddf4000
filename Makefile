# linalloc: build, test, demo, size. Every target installs what it needs.
# Tools are overridable: make CARGO=... WASM_OPT=... NODE=...
CARGO    ?= cargo
NODE     ?= node
NPM      ?= npm
TOOLS    ?= .tools
export PATH := $(CURDIR)/$(TOOLS)/bin:$(HOME)/.cargo/bin:$(PATH)
WASM_OPT ?= wasm-opt
WASM_OPT_FLAGS ?= -Oz --strip-debug --strip-producers --strip-target-features

TARGET   := wasm32-unknown-unknown
RELEASE  := target/$(TARGET)/release/linalloc.wasm
# backend feature -> drop-in file
BACKENDS := dlmalloc:linalloc wee_alloc:linalloc-wee talc:linalloc-talc
DIST     := $(foreach b,$(BACKENDS),dist/$(word 2,$(subst :, ,$(b))).wasm)

.PHONY: FORCE all setup setup-test setup-rust setup-wasm-opt setup-node setup-browser build test test-rust test-node test-browser demo serve size clean

all: build

FORCE:

# The backends share one cargo target dir: build them one at a time.
.NOTPARALLEL:

setup: setup-rust setup-wasm-opt

# Test-only tools: playwright-core (drives a browser, downloads none) and
# Debian's chromium.
setup-test: setup setup-node setup-browser

setup-rust:
	@rustup target list --installed 2>/dev/null | grep -qx $(TARGET) || rustup target add $(TARGET)

setup-wasm-opt:
	@TOOLS=$(TOOLS) scripts/setup-wasm-opt.sh

setup-node:
	@[ -d node_modules/playwright-core ] || $(NPM) ci --no-audit --no-fund --silent

setup-browser:
	@scripts/setup-browser.sh

build: $(DIST)

# One backend per build; each output goes through wasm-opt, then is checked
# (valid module, exactly one import env.memory, minimum <= 2 pages, full ABI).
# FORCE: always rebuild (cargo caches per feature set, so this is quick) so
# tests never run against a stale committed file.
dist/%.wasm: FORCE | setup
	@mkdir -p dist
	@feature=$$(for b in $(BACKENDS); do [ "$${b#*:}" = "$*" ] && echo "$${b%%:*}"; done); \
	  echo "build $@ (feature $$feature)"; \
	  $(CARGO) build --quiet --release --target $(TARGET) --no-default-features --features $$feature && \
	  $(WASM_OPT) $(WASM_OPT_FLAGS) $(RELEASE) -o $@.tmp && \
	  $(NODE) scripts/check-wasm.mjs $@.tmp && mv $@.tmp $@

test: setup-test build test-rust test-node test-browser

test-rust:
	$(CARGO) test --quiet --features dlmalloc,talc

test-node: build
	$(NODE) --test tests/*.test.mjs

test-browser: build setup-browser
	$(NODE) --test tests/browser/

demo: build
	$(NODE) examples/node/records.mjs

PORT ?= 8080
serve: build
	$(NODE) scripts/serve.mjs $(PORT)

size: build
	@$(NODE) scripts/size.mjs $(DIST)

clean:
	$(CARGO) clean
	rm -rf dist/*.tmp test-output
