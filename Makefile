# imagegen: the build is Meson + Ninja; this Makefile is the front door.
#   make deps      install the Debian packages the project needs (idempotent)
#   make           build build/imagegen
#   make test      deps, build, unit tests (cmocka) and integration tests (pytest)
#   make demo      deps, build, then generate images against the bundled stand-in
#   make check-asan  the whole suite with AddressSanitizer + UBSan (zero reports)
#   make check-valgrind  representative integration tests under valgrind memcheck
#   make fuzz      run each libFuzzer target for FUZZ_SECONDS (default 60) and merge
#                  what adds coverage into fuzz/corpus/ (FUZZ_TARGETS picks some)
#   make fuzz-replay  run the fuzz seed corpora once (CI)
#   make coverage  line and branch coverage of src/ from the whole suite (gcovr)
#   make bench     batch benchmarks: against the stand-in, and against a near-free
#                  server with the peers (bench/RESULTS.md)
#   make bench-peers  the same jobs with the Node SDK and a Python pool (issue 6)
#   make install   install (honours PREFIX and DESTDIR)
#   make deb       build the Debian package into dist/ (debhelper + meson)
#   make check-deb install that package on a fresh Debian 12 root and run it

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build
PYTHON ?= /usr/bin/python3

.PHONY: deb check-deb all build deps test unit integration demo bench check-asan check-valgrind fuzz fuzz-replay coverage install clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --prefix=$(PREFIX)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

integration: build
	IMAGEGEN_BIN=$(CURDIR)/$(BUILD)/imagegen $(PYTHON) -m pytest -q -rs -p no:cacheprovider tests

test: deps
	@./scripts/checksrc.sh
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

demo: deps
	@$(MAKE) --no-print-directory build
	@./scripts/demo.sh $(BUILD)/imagegen

check-asan: deps
	./scripts/check-asan.sh

check-valgrind: deps
	@$(MAKE) --no-print-directory build
	./scripts/check-valgrind.sh

coverage: deps
	./scripts/coverage.sh

fuzz: deps
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) ./scripts/fuzz.sh

fuzz-replay: deps
	./scripts/fuzz.sh --replay

bench: deps
	@$(MAKE) --no-print-directory build
	ninja -C $(BUILD) ledger_cost
	@test -d bench/node/node_modules/openai || (cd bench/node && npm ci --no-audit --no-fund)
	$(PYTHON) bench/bench_batch.py --bin $(BUILD)/imagegen
	$(PYTHON) bench/bench_throughput.py --bin $(BUILD)/imagegen

.PHONY: bench-peers
bench-peers: deps
	@$(MAKE) --no-print-directory build
	@test -d bench/node/node_modules/openai || (cd bench/node && npm ci --no-audit --no-fund)
	$(PYTHON) bench/bench_peers.py --bin $(BUILD)/imagegen

install: build
	meson configure $(BUILD) --prefix=$(PREFIX)
	ninja -C $(BUILD)
	DESTDIR=$(DESTDIR) meson install -C $(BUILD) --no-rebuild

deb:
	./scripts/deb.sh

check-deb:
	./scripts/check-deb.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-cov demo-out dist
