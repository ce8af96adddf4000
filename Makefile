# linalloc: build, test, demo, bench, size, serve. Every target installs what it needs.
# Tools are overridable: make CARGO=... WASM_OPT=... NODE=...
CARGO    ?= cargo
NODE     ?= node
CLANG    ?= clang
WASM_LD  ?= wasm-ld
NPM      ?= npm
TOOLS    ?= .tools
export PATH := $(CURDIR)/$(TOOLS)/bin:$(HOME)/.cargo/bin:$(PATH)
WASM_OPT ?= wasm-opt
WASM_OPT_FLAGS ?= -Oz --strip-debug --strip-producers --strip-target-features

# Panic locations inside dependencies would embed this machine's cargo path.
CARGO_HOME ?= $(HOME)/.cargo
REMAP     = --config 'target.$(TARGET).rustflags=["--remap-path-prefix=$(CARGO_HOME)/registry/src=/crates"]'
TARGET   := wasm32-unknown-unknown
RELEASE  := target/$(TARGET)/release/linalloc.wasm
# Every build goes under $(OUT); `make dist` copies the drop-in files and the
# example modules into the tracked tree, and `make test` fails when those
# differ from a fresh build. A test run never writes a tracked file.
OUT      ?= build
DIST_FILES := dist/linalloc.wasm dist/linalloc-talc.wasm dist/linalloc-dlmalloc.wasm dist/linalloc-wee.wasm dist/linalloc-checked.wasm dist/linalloc-bump.wasm dist/linalloc-mt.wasm
EXAMPLE_FILES := examples/link/strtab.wasm examples/link/strtab-pic.wasm examples/link/rust-client.wasm
RELEASED := $(DIST_FILES) $(EXAMPLE_FILES)
DIST     := $(addprefix $(OUT)/,$(DIST_FILES))

.PHONY: FORCE libc setup-wasi setup-zig records-png fuzz bench bench-instr setup-valgrind peers examples setup-clang all setup setup-test setup-rust setup-wasm-opt setup-node setup-browser build dist test test-rust test-node test-browser demo serve serve-fresh size report clean setup-node-min lint setup-miri test-miri

all: build

# Every recipe line fails on the first failing command, a pipe's included.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

FORCE:

# The backends share one cargo target dir: build them one at a time.
.NOTPARALLEL:

setup: setup-rust setup-wasm-opt

# Test-only tools: playwright-core (drives a browser, downloads none),
# typescript (checks js/linalloc.d.ts) and
# Debian's chromium.
setup-test: setup setup-node setup-browser

setup-rust:
	@rustup target list --installed 2>/dev/null | grep -qx $(TARGET) || rustup target add $(TARGET)
	@rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt

setup-wasm-opt:
	@TOOLS=$(TOOLS) scripts/setup-wasm-opt.sh

setup-node:
	@[ -d node_modules/playwright-core ] && [ -d node_modules/typescript ] && [ -d node_modules/@bjorn3/browser_wasi_shim ] || $(NPM) ci --no-audit --no-fund --silent

setup-browser:
	@scripts/setup-browser.sh

# The demo needs only Node itself.
setup-node-min:
	@command -v $(NODE) >/dev/null || { echo "make demo needs Node.js 20 or later (https://nodejs.org)" >&2; exit 1; }

build: $(DIST)

# One backend per build: cargo feature -> wasm-opt -> check (valid module,
# exactly one import env.memory, minimum <= 2 pages, full ABI) -> file.
# FORCE: always rebuild (cargo caches per feature set, so this is quick) so
# tests never run against a stale committed file.
comma := ,
# $(3), where a build has static data: the address it starts at. Every
# instance writes its data segments when it is instantiated, so the builds'
# data lie in disjoint slots below the heap floor (17408), and instantiating
# one build on a memory never overwrites another's (tests/ownership.test.mjs;
# the wee build's vtables at 16384 were overwritten by the checked build's).
define build-wasm
	@mkdir -p $(dir $(2))
	@echo "build $(2) (feature $(1))"
	@$(CARGO) build --quiet --release --target $(TARGET) --no-default-features --features $(1) $(REMAP) \
	  $(if $(3),--config 'target.$(TARGET).rustflags=["-C"$(comma)"link-arg=--global-base=$(3)"]')
	@$(WASM_OPT) $(WASM_OPT_FLAGS) $(RELEASE) -o $(2).tmp
	@$(NODE) scripts/check-wasm.mjs $(2).tmp && mv $(2).tmp $(2)
endef

# linalloc.wasm is the default: linalloc's own heap (src/lin/).
$(OUT)/dist/linalloc.wasm: FORCE | setup
	$(call build-wasm,lin,$@)
$(OUT)/dist/linalloc-talc.wasm: FORCE | setup
	$(call build-wasm,talc,$@)
$(OUT)/dist/linalloc-dlmalloc.wasm: FORCE | setup
	$(call build-wasm,dlmalloc,$@,16768)
$(OUT)/dist/linalloc-wee.wasm: FORCE | setup
	$(call build-wasm,wee_alloc,$@,16896)
$(OUT)/dist/linalloc-checked.wasm: FORCE | setup
	$(call build-wasm,checked,$@)
$(OUT)/dist/linalloc-bump.wasm: FORCE | setup
	$(call build-wasm,bump,$@)

# The threads build: lin behind a spin lock, for one shared memory used by
# workers. Atomics need the core library rebuilt (-Zbuild-std), so it is built
# on the pinned nightly of setup-miri; the other builds stay on stable.
# Linked for a shared memory of up to 4 GiB, exporting __stack_pointer so the
# loader can give each worker's instance its own stack.
MT_RUSTFLAGS = -C target-feature=+atomics,+bulk-memory,+mutable-globals \
  -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory \
  -C link-arg=--stack-first -C link-arg=-zstack-size=16384 -C link-arg=--export=__stack_pointer \
  --remap-path-prefix=$(CARGO_HOME)/registry/src=/crates --remap-path-prefix=$(RUSTUP_HOME)=/rustup
RUSTUP_HOME ?= $(HOME)/.rustup
$(OUT)/dist/linalloc-mt.wasm: FORCE | setup setup-miri
	@mkdir -p $(dir $@)
	@echo "build $@ (feature mt, $(MIRI_TOOLCHAIN))"
	@RUSTFLAGS="$(MT_RUSTFLAGS)" $(CARGO) +$(MIRI_TOOLCHAIN) build --quiet --release --target $(TARGET) --target-dir target/mt \
	  -Zbuild-std=core,panic_abort -Zbuild-std-features=compiler-builtins-mem --no-default-features --features mt >$@.log 2>&1 || { cat $@.log; exit 1; }
	@grep -v 'unstable feature specified\|not stably supported\|^ *|$$\|^ *= note\|generated 1 warning\|^$$' $@.log || true; rm -f $@.log
	@$(WASM_OPT) $(WASM_OPT_FLAGS) --enable-threads --enable-mutable-globals target/mt/$(TARGET)/release/linalloc.wasm -o $@.tmp
	@$(NODE) scripts/check-wasm.mjs $@.tmp && mv $@.tmp $@

# The release step: refresh the committed drop-in files and example modules
# from a fresh build (then commit them). `make test` checks they match.
dist: build examples
	@for f in $(RELEASED); do cp $(OUT)/$$f $$f; done
	@echo "dist: refreshed $(RELEASED)"

# ---- client modules for runtime linking (examples/link, tests/fixtures),
# rebuilt from source every time (FORCE), under $(OUT) like the rest
# Fixed layout: static data at --global-base, inside the memory's first pages.
CFLAGS_WASM := --target=wasm32 -mbulk-memory -O2 -nostdlib
# Position independent side module (dylink.0): data placed by the loader.
CFLAGS_PIC  := --target=wasm32-unknown-emscripten -mbulk-memory -fPIC -O2 -nostdlib
LINK_FIXED   = $(WASM_LD) --no-entry --import-memory --allow-undefined -z stack-size=16384
RUST_CLIENT := examples/link/rust-client
LINKED      := $(addprefix $(OUT)/,$(EXAMPLE_FILES)) \
               $(OUT)/tests/fixtures/ping.wasm $(OUT)/tests/fixtures/pong.wasm $(OUT)/tests/fixtures/got_data.wasm $(OUT)/tests/fixtures/got_user.wasm \
               $(OUT)/tests/fixtures/got_weak.wasm $(OUT)/tests/fixtures/got_hook.wasm \
               $(OUT)/bench/driver.wasm

examples: $(LINKED)

setup-clang:
	@command -v $(CLANG) >/dev/null && command -v $(WASM_LD) >/dev/null || scripts/setup-clang.sh

$(OUT)/examples/link/strtab.wasm: examples/link/strtab.c FORCE | setup-clang
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_WASM) -c $< -o $@.o && $(LINK_FIXED) --global-base=65536 $@.o -o $@ && rm $@.o

$(OUT)/examples/link/strtab-pic.wasm: examples/link/strtab.c FORCE | setup-clang
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_PIC) -c $< -o $@.o && $(WASM_LD) --experimental-pic -shared --no-entry $@.o -o $@ && rm $@.o

# The bench driver: a side module with no static data; -fno-builtin keeps
# clang from turning its loops into calloc/memset calls a peer may lack.
$(OUT)/bench/driver.wasm: bench/driver.c FORCE | setup-clang
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_PIC) -fno-builtin -c $< -o $@.o && $(WASM_LD) --experimental-pic -shared --no-entry $@.o -o $@ && rm $@.o

$(OUT)/tests/fixtures/ping.wasm: tests/fixtures/ping.c FORCE | setup-clang
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_WASM) -c $< -o $@.o && $(LINK_FIXED) -z stack-size=4096 --global-base=393216 $@.o -o $@ && rm $@.o

$(OUT)/tests/fixtures/pong.wasm: tests/fixtures/pong.c FORCE | setup-clang
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_WASM) -c $< -o $@.o && $(LINK_FIXED) -z stack-size=4096 --global-base=458752 $@.o -o $@ && rm $@.o

# ---- the libc path (docs/LINKING.md): build/libc/linalloc-libc.o makes a
# wasi-libc program's malloc linalloc's; examples/libc and two real programs
# (SQLite from npm, Brotli from PyPI) built with Debian's clang + wasi-libc,
# zig cc, and natively with gcc for the tests to compare with.
ZIG ?= $(TOOLS)/bin/zig
setup-wasi: setup-clang
	@CLANG=$(CLANG) scripts/setup-wasi.sh
setup-zig:
	@TOOLS=$(TOOLS) scripts/setup-zig.sh
libc: setup-wasi setup-zig
	@CLANG=$(CLANG) ZIG=$(ZIG) OUT=$(OUT) scripts/build-libc.sh

# Side modules that need GOT entries (default visibility, --export-dynamic).
$(OUT)/tests/fixtures/got_%.wasm: tests/fixtures/got_%.c FORCE | setup-clang
	@mkdir -p $(dir $@)
	$(CLANG) $(CFLAGS_PIC) -c $< -o $@.o && $(WASM_LD) --experimental-pic -shared --no-entry --export-dynamic $@.o -o $@ && rm $@.o

# The Rust client: RUSTFLAGS replaces this repo's .cargo/config.toml flags
# (no --stack-first: its stack sits above its data, at --global-base).
$(OUT)/examples/link/rust-client.wasm: FORCE | setup
	@mkdir -p $(dir $@)
	cd $(RUST_CLIENT) && RUSTFLAGS="-C link-arg=--import-memory -C link-arg=--no-stack-first -C link-arg=--global-base=262144 -C link-arg=-zstack-size=32768" \
	  $(CARGO) build --quiet --release --target $(TARGET)
	$(WASM_OPT) $(WASM_OPT_FLAGS) $(RUST_CLIENT)/target/$(TARGET)/release/linalloc_rust_client.wasm -o $@

test: setup-test lint build examples test-rust test-miri test-node test-browser

# Formatting and lints, host and every wasm build, warnings are errors.
lint: setup
	$(CARGO) fmt --check
	$(CARGO) clippy --quiet --all-targets --features dlmalloc,talc,checked -- -D warnings
	@for f in lin bump talc dlmalloc wee_alloc checked; do \
	  $(CARGO) clippy --quiet --release --target $(TARGET) --no-default-features --features $$f -- -D warnings || exit 1; done

# The host tests of the unsafe core under Miri, on a pinned nightly (fewer
# cases: Miri runs each operation thousands of times slower).
MIRI_TOOLCHAIN ?= nightly-2026-05-20
setup-miri:
	@rustup toolchain list | grep -q '^$(MIRI_TOOLCHAIN)' && rustup +$(MIRI_TOOLCHAIN) component list --installed | grep -q '^miri' || \
	  rustup toolchain install $(MIRI_TOOLCHAIN) --profile minimal --component miri,rust-src

# Permissive provenance: the heap works with addresses as integers, as wasm
# does. Leaks ignored: a FakeMemory is leaked on purpose (a wasm memory lives
# as long as the program).
test-miri: setup-miri
	MIRIFLAGS="-Zmiri-permissive-provenance -Zmiri-ignore-leaks" $(CARGO) +$(MIRI_TOOLCHAIN) miri test --quiet --features dlmalloc,talc,checked -- --test-threads=2

# Figures the suites recorded (test-output/) merged into docs/RELIABILITY.md.
report:
	$(NODE) scripts/reliability.mjs

# make fuzz SECONDS=N: differential fuzzing of every backend and the checked
# build (JavaScript growing the memory now and then), random-overrun fuzzing
# of the checked build, then writes through dangling pointers into freed
# blocks of every release build (tests/helpers/dangling-fuzz.mjs: traps,
# pointers outside the heap, overlaps and hangs counted), each until time is
# up; prints counts and seeds (replay with --seed).
SECONDS ?= 60
fuzz: build
	$(NODE) tests/helpers/fuzz.mjs --seconds $(SECONDS)
	$(NODE) tests/helpers/overrun-fuzz.mjs --seconds $(SECONDS)
	$(NODE) tests/helpers/dangling-fuzz.mjs --seconds $(SECONDS)
	$(NODE) scripts/reliability.mjs

test-rust:
	$(CARGO) test --quiet --features dlmalloc,talc
	$(CARGO) test --quiet --features dlmalloc,talc,checked

test-node: build examples libc
	$(NODE) --test tests/*.test.mjs

test-browser: build examples libc setup-browser
	$(NODE) --test tests/browser/

# docs/records.png, the README's picture, from the records page in headless Chromium
records-png: setup-node setup-browser
	$(NODE) scripts/records-png.mjs docs/records.png

# The demo and the pages run the committed dist/ files: no Rust needed.
demo: setup-node-min
	$(NODE) examples/node/records.mjs

PORT ?= 8080
serve:
	$(NODE) scripts/serve.mjs $(PORT)

# Rebuild and refresh dist/ first (needs Rust and clang).
serve-fresh: dist serve

size: build
	@$(NODE) scripts/size.mjs $(DIST)

# make bench [QUICK=1] [ALLOCATORS="a.wasm b.wasm"]
ALLOCATORS ?=
# `make bench PEERS=1` also builds the registry peers (bench/peers/: Rust
# allocators raw, emscripten's emmalloc and dlmalloc; each for speed and for
# size) and sets linalloc beside them.
bench: build examples $(if $(PEERS),peers)
	$(NODE) bench/run.mjs $(if $(QUICK),--quick) $(ALLOCATORS) $(if $(PEERS),$(wildcard $(OUT)/peers/*.wasm))
	$(if $(QUICK)$(ALLOCATORS),,$(NODE) bench/readme.mjs)

# make bench-instr [ALLOCATORS="a.wasm ..."] [BENCH_TRACES=random,batch]:
# allocator instructions per call, counted by valgrind's callgrind
# (bench/instr.mjs): exact where `make bench` is noisy, blind to cache
# misses. The default build is measured from a twin that keeps its function
# names (the same code), beside every peer `make peers` built and any
# ALLOCATORS; the full run refreshes docs/INSTRUCTIONS.md.
VALGRIND ?= valgrind
BENCH_TRACES ?=
bench-instr: setup setup-valgrind $(OUT)/bench/driver.wasm
	@$(CARGO) build --quiet --release --target $(TARGET) --no-default-features --features lin $(REMAP)
	@$(WASM_OPT) $(filter-out --strip-debug,$(WASM_OPT_FLAGS)) -g --strip-dwarf $(RELEASE) -o $(OUT)/bench/lin.wasm
	VALGRIND=$(VALGRIND) $(NODE) bench/instr.mjs $(if $(BENCH_TRACES),--traces $(BENCH_TRACES),--doc docs/INSTRUCTIONS.md) \
	  $(OUT)/bench/lin.wasm $(wildcard $(OUT)/peers/*-speed.wasm) $(ALLOCATORS)

setup-valgrind:
	@VALGRIND=$(VALGRIND) scripts/setup-valgrind.sh

peers: setup
	@scripts/setup-emscripten.sh
	@env -u PEERS WASM_OPT=$(WASM_OPT) CARGO=$(CARGO) NODE=$(NODE) bench/peers/build.sh

clean:
	$(CARGO) clean
	rm -rf $(OUT) test-output
