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
DEMO_STORE ?= $(HOME)/.cache/trove/demo-store
QUESTION   ?= What brew temperature do I use for espresso?
EVAL_DIR   ?= $(abspath $(CURDIR)/../shared/eval)
EVAL_SETS  ?= gitdocs pydocs

.DEFAULT_GOAL := build
.PHONY: help setup setup-tools build demo test lint eval bench latency clean-models

help:
	@echo "make demo          set up, build, index examples/notes and ask QUESTION"
	@echo "make test          set up, build and run the test suite"
	@echo "make setup         apt packages + models into models/ (TROVE_SKIP_GEMMA=1 skips Gemma)"
	@echo "make build         cargo build --release --workspace"
	@echo "make lint          cargo fmt --check + clippy -D warnings"
	@echo "make eval          retrieval metrics for $(EVAL_SETS) in $(EVAL_DIR)"
	@echo "make bench         trove bench --json"
	@echo "make latency       watch: save-to-searchable latency, 10 edits in 1000 notes"
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

lint: setup-tools
	cargo fmt --all --check
	cargo clippy --release --workspace --all-targets -- -D warnings

eval: build
	@set -e; for s in $(EVAL_SETS); do \
	  if [ -d "$(EVAL_DIR)/$$s" ]; then \
	    echo "TROVE_MODELS=$(MODELS) $(BIN)/trove eval $(EVAL_DIR)/$$s --json"; \
	    TROVE_MODELS=$(MODELS) $(BIN)/trove eval "$(EVAL_DIR)/$$s" --json; \
	  else echo "eval: $(EVAL_DIR)/$$s not found, skipped"; fi; \
	done

bench: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove bench --json

latency: build
	TROVE_MODELS=$(MODELS) $(BIN)/trove --threads 2 --json watch-latency --notes 1000 --edits 10

clean-models:
	rm -rf $(MODELS)
