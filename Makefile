# trove: set-up, build, test and demo. Every target that needs the models or
# the build tools runs scripts/setup.sh first (idempotent, ~0.1 s when done).
#
# Always `cargo build --release --workspace` / `cargo test --release --workspace`
# (never -p or --features) so every target resolves the same features and
# llama.cpp is not rebuilt.

CARGO_TARGET_DIR ?= $(HOME)/.cache/trove/target
export CARGO_TARGET_DIR
BIN        := $(CARGO_TARGET_DIR)/release
MODELS     := $(CURDIR)/models
DEMO_STORE ?= $(CURDIR)/.trove
QUESTION   ?= What brew temperature do I use for espresso?
EVAL_DIR   ?= $(abspath $(CURDIR)/../shared/eval)
EVAL_SETS  ?= gitdocs pydocs manpages-fr manpages-ja
# What shared/eval/pdfs/build.sh made, and where pdf-bench writes its texts.
PDF_DIR    ?= $(CACHE)/eval-pdfs
PDF_OUT    ?= $(CACHE)/pdf-bench
# The embedding model eval uses: minilm, e5 or a path (trove --embedding).
EVAL_EMBEDDING ?= minilm
CACHE      ?= $(or $(TROVE_CACHE),$(HOME)/.cache/trove)
CBINDGEN   := $(CACHE)/tools/bin/cbindgen
VERSION    := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
# libtrove.so's ABI version: MAJOR, or 0.MINOR while MAJOR is 0 (then a
# minor release may break the ABI). It names the SONAME and the symbol
# version node of ffi/libtrove.map.
ABI        := $(shell echo $(VERSION) | awk -F. '{ print ($$1 == 0 ? $$1 "." $$2 : $$1) }')
SONAME     := libtrove.so.$(ABI)
PREFIX     ?= /usr/local
# C objects, the test install prefix and C programs built by the targets below.
C_OUT      := $(CARGO_TARGET_DIR)/c
C_STRICT   := -std=c11 -Wall -Wextra -Werror -pedantic
# libtrove.so as shipped: relinked from libtrove.a with the SONAME and the
# version script (cargo's own cdylib exports every Rust symbol and has no
# SONAME; rustc's version script cannot be replaced). Every host test loads
# this one.
SO_DIR     := $(C_OUT)/lib
SHARED     := $(SO_DIR)/$(SONAME)
# The Node/TypeScript host (examples/obsidian-plugin) and the library it loads.
NODE_DIR   := examples/obsidian-plugin
TROVE_LIB  ?= $(SO_DIR)/libtrove.so

.DEFAULT_GOAL := build
.PHONY: help setup setup-tools build demo test lint eval bench bench-llm scale-bench pdf-bench latency fuzz clean-models \
        header header-check shared symbols symbols-check install c-test c-example \
        node-test node-test-only bindgen bindings bindings-check bindings-test python-test \
        kotlin-test swift-test

help:
	@echo "make demo          set up, build, index examples/notes and ask QUESTION"
	@echo "make test          set up, build and run the test suite"
	@echo "make setup         apt packages + models into models/ (TROVE_SKIP_GEMMA=1 skips Gemma)"
	@echo "make build         cargo build --release --workspace"
	@echo "make lint          cargo fmt --check + clippy -D warnings + header-check + symbols-check"
	@echo "make header        regenerate include/trove.h with cbindgen"
	@echo "make shared        libtrove.so with SONAME $(SONAME) and only trove's symbols"
	@echo "make symbols       regenerate ffi/libtrove.symbols (the exported symbol list)"
	@echo "make install       libtrove.{a,so}, trove.h, trove.pc into PREFIX=$(PREFIX)"
	@echo "make c-test        C tests of every function, under AddressSanitizer"
	@echo "make c-example     build examples/c against the installed static library, run it"
	@echo "make node-test     npm ci, tsc type-check of the Obsidian plugin, node --test of trove.ts"
	@echo "make bindings      regenerate the Swift/Kotlin/Python sources in bindings/"
	@echo "make bindings-test Python (pytest), Kotlin (kotlinc) and Swift (XCTest) tests"
	@echo "make eval          retrieval metrics for $(EVAL_SETS) in $(EVAL_DIR) (trove-dev eval; EVAL_EMBEDDING=e5 for the multilingual model)"
	@echo "make bench         trove-dev bench --json"
	@echo "make bench-llm     the answer model next to llama.cpp's bare loop; KV cache types at 2k/8k context"
	@echo "make scale-bench   a store of SCALE_COPIES x pydocs (12: 117k chunks, 103: 1M), then its open time, memory, latency, size"
	@echo "make pdf-bench     PDF extraction next to pdftotext on $(PDF_DIR) (shared/eval/pdfs/build.sh makes it): pages/s, peak RSS, fidelity"
	@echo "make latency       watch: save-to-searchable latency, 10 edits in 1000 notes"
	@echo "make fuzz          AFL++ campaign: FUZZ_TARGET=$(FUZZ_TARGET) for FUZZ_SECONDS=$(FUZZ_SECONDS) (fuzz/README.md; needs cargo-afl)"
	@echo "make clean-models  delete models/ (the wheel cache in ~/.cache/trove stays)"

setup:
	@scripts/setup.sh

setup-tools:
	@scripts/setup.sh --tools

build: setup
	cargo build --release --workspace

demo: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove --store $(DEMO_STORE) index examples/notes
	TROVE_MODELS=$(MODELS) $(BIN)/trove --store $(DEMO_STORE) ask "$(QUESTION)"

test: setup
	TROVE_MODELS=$(MODELS) cargo test --release --workspace
	$(MAKE) --no-print-directory c-test c-example node-test bindings-test

lint: setup-tools
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings
	$(MAKE) --no-print-directory header-check symbols-check bindings-check

# ------------------------------------------------------------------ C ABI ----

header: setup-tools
	$(CBINDGEN) --quiet --config ffi/cbindgen.toml --crate trove-ffi --output include/trove.h ffi

# Fails when the committed header is not what the code generates, or when it
# does not compile cleanly as strict C11 and C++17.
header-check: setup-tools
	@mkdir -p $(C_OUT)
	$(CBINDGEN) --quiet --config ffi/cbindgen.toml --crate trove-ffi --output $(C_OUT)/trove.h ffi
	@diff -u include/trove.h $(C_OUT)/trove.h || \
	  { echo "include/trove.h differs from ffi/src: run 'make header' and commit it" >&2; exit 1; }
	gcc $(C_STRICT) -fsyntax-only -x c include/trove.h
	g++ -std=c++17 -Wall -Wextra -Werror -pedantic -fsyntax-only -x c++ include/trove.h

# libtrove.so from libtrove.a: SONAME, ffi/libtrove.map's version node and
# nothing but trove's own symbols exported (unused sections dropped).
shared: build
	@mkdir -p $(SO_DIR)
	gcc -shared -o $(SHARED).$$$$.tmp -Wl,-soname,$(SONAME) -Wl,--version-script=ffi/libtrove.map \
	  -Wl,--gc-sections -Wl,--whole-archive $(BIN)/libtrove.a -Wl,--no-whole-archive \
	  -lstdc++ -lpthread -ldl -lm && mv $(SHARED).$$$$.tmp $(SHARED)
	ln -sf $(SONAME) $(SO_DIR)/libtrove.so

# The exported symbols, one per line with their version: what a change to
# the C or UniFFI surface changes. symbols-check (in lint) fails when the
# library differs from the committed list or has no SONAME.
EXPORTED = nm -D --defined-only $(SHARED) | awk '{ print $$3 }' | LC_ALL=C sort
symbols: shared
	$(EXPORTED) > ffi/libtrove.symbols

symbols-check: shared
	@readelf -d $(SHARED) | grep -q 'SONAME.*\[$(SONAME)\]' || \
	  { echo "$(SHARED) has no SONAME $(SONAME)" >&2; exit 1; }
	@$(EXPORTED) | diff -u ffi/libtrove.symbols - || \
	  { echo "libtrove.so exports other symbols than ffi/libtrove.symbols: run 'make symbols' and commit" >&2; exit 1; }

# Debug info is stripped from the installed copies (libtrove.a: ~700 MB with
# it); the build tree keeps it.
install: shared
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 644 include/trove.h $(DESTDIR)$(PREFIX)/include/trove.h
	strip --strip-debug -o $(DESTDIR)$(PREFIX)/lib/libtrove.a $(BIN)/libtrove.a
	strip --strip-debug -o $(DESTDIR)$(PREFIX)/lib/$(SONAME) $(SHARED)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libtrove.so
	chmod 644 $(DESTDIR)$(PREFIX)/lib/libtrove.a
	chmod 755 $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	for pc in trove trove-static; do \
	  sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' ffi/$$pc.pc.in \
	    > $(DESTDIR)$(PREFIX)/lib/pkgconfig/$$pc.pc; \
	done

# Every function, error paths included, with AddressSanitizer (+ LeakSanitizer
# at exit) and UBSan on the C side; Rust allocations go through the
# intercepted malloc, so leaks of trove handles are caught too.
c-test: build
	@mkdir -p $(C_OUT)
	gcc $(C_STRICT) -g -fsanitize=address,undefined -fno-omit-frame-pointer -Iinclude \
	  tests/c/test_trove.c $(BIN)/libtrove.a -lstdc++ -lpthread -ldl -lm -o $(C_OUT)/test_trove
	TROVE_MODELS=$(MODELS) ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 \
	  $(C_OUT)/test_trove

c-example: build
	$(MAKE) --no-print-directory install PREFIX=$(C_OUT)/prefix
	PKG_CONFIG_PATH=$(C_OUT)/prefix/lib/pkgconfig; export PKG_CONFIG_PATH; \
	  gcc $(C_STRICT) examples/c/main.c $$(pkg-config --cflags --libs trove-static) \
	    -o $(C_OUT)/trove-c-demo
	rm -rf $(C_OUT)/demo-store
	$(C_OUT)/trove-c-demo $(C_OUT)/demo-store $(MODELS) examples/notes "$(QUESTION)"

# ------------------------------------------------------------ Node host ----

# The Obsidian plugin's wrapper (trove.ts, through koffi) against the real
# library and models: npm ci (only when the lockfile changed), tsc --noEmit
# of the plugin against the obsidian typings, tsc build, node --test.
node-test: shared
	$(MAKE) --no-print-directory node-test-only

# The same without building: TROVE_LIB=path/libtrove.so MODELS=path/models.
node-test-only:
	@scripts/setup-node.sh
	cd $(NODE_DIR) && node_modules/.bin/tsc --noEmit -p tsconfig.json
	cd $(NODE_DIR) && rm -rf build && node_modules/.bin/tsc -p tsconfig.json
	cd $(NODE_DIR) && TROVE_LIB=$(TROVE_LIB) TROVE_MODELS=$(MODELS) node --test test/

eval: build
	@set -e; for s in $(EVAL_SETS); do \
	  if [ -d "$(EVAL_DIR)/$$s" ]; then \
	    echo "TROVE_MODELS=$(MODELS) $(BIN)/trove-dev --embedding $(EVAL_EMBEDDING) eval $(EVAL_DIR)/$$s --json"; \
	    TROVE_MODELS=$(MODELS) $(BIN)/trove-dev --embedding $(EVAL_EMBEDDING) eval "$(EVAL_DIR)/$$s" --json; \
	  else echo "eval: $(EVAL_DIR)/$$s not found, skipped"; fi; \
	done

bench: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove-dev bench --json

bench-llm: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove-dev --threads 2 --json bench-llm

# A big store from perturbed copies of pydocs (examples/dev/src/scale.rs),
# then each measurement in a child process. 12 copies: 117k chunks, about
# 7 minutes and 0.6 GB; 103 copies: 1M chunks, about 35 minutes and 5 GB.
SCALE_COPIES ?= 12
SCALE_DIR    ?= $(HOME)/.cache/trove/scale/copies-$(SCALE_COPIES)
scale-bench: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove-dev --json scale-build $(EVAL_DIR)/pydocs --out $(SCALE_DIR) --copies $(SCALE_COPIES)
	TROVE_MODELS=$(MODELS) $(BIN)/trove-dev --json scale-measure $(EVAL_DIR)/pydocs --out $(SCALE_DIR) --rebuild

pdf-bench: setup
	cargo build --release --workspace --examples
	EVAL_PDFS=$(wildcard $(EVAL_DIR)/pdfs) bash scripts/pdf-bench.sh $(PDF_DIR) $(PDF_OUT)

latency: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove-dev --threads 2 --json watch-latency --notes 1000 --edits 10

# One AFL++ campaign (fuzz/README.md); the smoke of every target is in `test`.
FUZZ_TARGET  ?= markdown
FUZZ_SECONDS ?= 600
fuzz: setup
	bash scripts/fuzz.sh $(FUZZ_TARGET) $(FUZZ_SECONDS)

clean-models:
	rm -rf $(MODELS)

# --------------------------------------------------------------- bindings ----
# UniFFI's generator is its own crate (bindings/uniffi-bindgen), built into
# the cache once. Generated sources are committed; bindings-check (in lint)
# fails when they differ from what the library generates.

BINDGEN_TARGET := $(CACHE)/bindgen-target
BINDGEN        := $(BINDGEN_TARGET)/release/uniffi-bindgen
GEN_OUT        := $(CARGO_TARGET_DIR)/bindings

bindgen:
	cd bindings/uniffi-bindgen && \
	  cargo build --quiet --release --locked --target-dir $(BINDGEN_TARGET)

# Generates all three languages into DIR laid out like bindings/.
define generate_bindings
	rm -rf $(1) && mkdir -p $(1)/raw
	$(BINDGEN) generate $(BIN)/libtrove.so -l swift -l kotlin -l python -n -o $(1)/raw >/dev/null
	install -D -m 644 $(1)/raw/Trove.swift $(1)/swift/Sources/Trove/Trove.swift
	install -D -m 644 $(1)/raw/TroveFFI.h $(1)/swift/Sources/TroveFFI/TroveFFI.h
	install -D -m 644 $(1)/raw/TroveFFI.modulemap $(1)/swift/Sources/TroveFFI/module.modulemap
	install -D -m 644 $(1)/raw/dev/trove/trove.kt $(1)/kotlin/src/main/kotlin/dev/trove/trove.kt
	install -D -m 644 $(1)/raw/trove.py $(1)/python/trove/trove.py
endef

GENERATED := swift/Sources/Trove/Trove.swift swift/Sources/TroveFFI/TroveFFI.h \
             swift/Sources/TroveFFI/module.modulemap \
             kotlin/src/main/kotlin/dev/trove/trove.kt python/trove/trove.py

bindings: build bindgen
	$(call generate_bindings,$(GEN_OUT))
	for f in $(GENERATED); do install -D -m 644 $(GEN_OUT)/$$f bindings/$$f; done

bindings-check: build bindgen
	$(call generate_bindings,$(GEN_OUT))
	@for f in $(GENERATED); do \
	  diff -u bindings/$$f $(GEN_OUT)/$$f >/dev/null || \
	  { echo "bindings/$$f differs from the library: run 'make bindings' and commit" >&2; exit 1; }; \
	done

bindings-test: python-test kotlin-test swift-test

python-test: shared
	scripts/setup-python.sh
	cp $(SHARED) bindings/python/trove/libtrove.so
	cd bindings/python && TROVE_MODELS=$(MODELS) \
	  $(CACHE)/py-venv/bin/python -m pytest -p no:cacheprovider tests

KOTLIN_JAR := $(GEN_OUT)/trove-kotlin-test.jar
kotlin-test: shared
	scripts/setup-kotlin.sh
	eval "$$(scripts/setup-kotlin.sh --env 2>/dev/null)" && \
	  mkdir -p $(GEN_OUT) && \
	  $$KOTLINC -nowarn -include-runtime -cp "$$JNA_JAR:$$KOTLIN_COROUTINES_JAR" -d $(KOTLIN_JAR) \
	    bindings/kotlin/src/main/kotlin bindings/kotlin/src/test/kotlin && \
	  TROVE_MODELS=$(MODELS) java -Djna.library.path=$(SO_DIR) \
	    -cp "$(KOTLIN_JAR):$$JNA_JAR:$$KOTLIN_COROUTINES_JAR" dev.trove.TroveTestKt

# Swift runs in a Debian trixie chroot (scripts/setup-swift.sh, cached);
# the build dir and the models are bind-mounted at their own paths.
swift-test: build
	scripts/setup-swift.sh
	scripts/swift-in-chroot.sh --bind $(BIN) --bind $(MODELS) $(CURDIR)/bindings/swift \
	  env TROVE_MODELS=$(MODELS) swift test --disable-swift-testing \
	  -Xlinker $(BIN)/libtrove.a -Xlinker -l:libstdc++.so.6 -Xlinker -lm
