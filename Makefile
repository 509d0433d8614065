# A thin wrapper over cargo, cc, cmake, go, npm and python, so that the
# README's commands stay short:
#   make demo   build everything and run the live demonstration
#   make test   run every test suite (what .ci/run runs)
#   make bench  run the benchmarks and rewrite docs/BENCHMARKS.md
#   make dist   build every release artifact into dist/ (docs/INSTALL.md)
#   make test-dist  install each artifact as its users would and use it

CARGO  ?= cargo
CC     ?= cc
CXX    ?= c++
REL    := target/release
# One package per artifact (docs/ARCHITECTURE.md): the library (`.`), its
# C ABI (`capi`, linked into liblifesign.so/.a by `capi/artifact`) and the
# CLI (`cli`, with the fleet by default). Build, test and lint take the
# whole workspace, so that no step rebuilds target/release/liblifesign.so
# differently. LIB_BASE_FEATURES selects the C libraries alone:
# tests/fleet/lib-unchanged.sh checks that the workspace's build (with the
# CLI's tokio and async-nats) gives the same libraries.
LIB_BASE_FEATURES := -p lifesign-c
LIB_FEATURES := --workspace
CTEST  := target/ctest
CFLAGS_TEST := -std=c11 -Wall -Wextra -Werror -O2 -g -Iinclude
# What a static Rust library needs from the system (cargo's
# --print native-static-libs on Linux/glibc).
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

.PHONY: all build demo test test-rust test-c test-c-sanitize test-abi abi-bless test-fuzz-build \
        test-cmake test-go test-node test-python test-fleet test-metrics lint header bindings test-bindings \
        bench bench-smoke reliability print-lib-features clean dist test-dist

all: build

build:
	$(CARGO) build --release $(LIB_FEATURES) --lib --bins --examples
	@# The link the dynamic loader looks for (the SONAME capi/artifact/build.rs sets),
	@# and none left from a version of another ABI.
	soname="$$(sh abi/soname.sh $(REL)/liblifesign.so)" && \
	    find $(REL) -maxdepth 1 -type l -name 'liblifesign.so.*' ! -name "$$soname" -delete && \
	    ln -sfn liblifesign.so "$(REL)/$$soname"

demo: build
	$(REL)/examples/demo

test: build lint test-rust test-c test-c-sanitize test-abi test-fuzz-build test-cmake test-go \
      test-node test-python test-fleet test-bindings test-dist bench-smoke
	@echo "make test: every suite passed"

# Clippy as the suites build; then no warning with any feature set of any
# package (in a target folder of their own, so that RUSTFLAGS leave target/
# as it is), and none from rustdoc.
LINT_SETS := "-p lifesign" "-p lifesign --features internals" "-p lifesign-capi" \
    "-p lifesign-c" "-p lifesign-cli" "-p lifesign-cli --no-default-features"
lint:
	$(CARGO) clippy --release $(LIB_FEATURES) --all-targets -- -D warnings
	set -e; for f in $(LINT_SETS); do \
	    echo "cargo check $$f"; \
	    CARGO_TARGET_DIR=target/lint RUSTFLAGS=-Dwarnings $(CARGO) check $$f; \
	    CARGO_TARGET_DIR=target/lint RUSTDOCFLAGS=-Dwarnings $(CARGO) doc --no-deps $$f; \
	done

# The clock tests step wall clocks with libfaketime and open a time
# namespace: tests/clock/setup.sh installs what they need (as root);
# tests/cli/setup.sh installs man-db and groff for the man page test.
# tests/metrics.rs scrapes `lifesign metrics` with a real Prometheus:
# tests/metrics/setup.sh installs it (`make test-metrics` runs it alone).
# The tests run the CLI that `make build` puts in target/release.
test-rust: build
	sh tests/clock/setup.sh
	sh tests/cli/setup.sh
	sh tests/metrics/setup.sh
	sh tests/budget/setup.sh
	LIFESIGN_REQUIRE_CLOCK_TOOLS=1 LIFESIGN_REQUIRE_PROMETHEUS=1 LIFESIGN_REQUIRE_STRACE=1 $(CARGO) test --release $(LIB_FEATURES)

test-metrics: build
	sh tests/metrics/setup.sh
	LIFESIGN_REQUIRE_PROMETHEUS=1 $(CARGO) test --release $(LIB_FEATURES) --test metrics

# The fleet commands against a real nats-server (installed pinned and
# hash-checked into target/fleet-venv; each test starts its own on
# 127.0.0.1), the C libraries unchanged by the feature, and a CLI built
# without it refusing nats:// targets.
# The TLS test makes its CA and certificates with the openssl command.
# Then the Prometheus scrape test of tests/metrics.rs (a real prometheus,
# started and stopped by the test; about 7 s, also run by test-rust).
test-fleet: build
	sh tests/apt-need.sh "fleet TLS test" openssl:openssl
	sh tests/metrics/setup.sh
	LIFESIGN_NATS_SERVER="$$(bash tests/fleet/server.sh)" LIFESIGN_REQUIRE_OPENSSL=1 \
	    $(CARGO) test --release $(LIB_FEATURES) --test fleet
	LIFESIGN_REQUIRE_PROMETHEUS=1 $(CARGO) test --release $(LIB_FEATURES) --test metrics prometheus_
	# cargo test links the libraries with the dev-only `internals` feature:
	# compare what `make build` ships.
	$(CARGO) build --release $(LIB_FEATURES) --lib
	bash tests/fleet/lib-unchanged.sh $(LIB_BASE_FEATURES)
	bash tests/fleet/no-fleet-cli.sh

# The C ABI tests against the shared library, the static library, and
# compiled as C++.
test-c: build
	mkdir -p $(CTEST)
	@# The header alone compiles warning-free in every language mode it promises.
	for std in c99 c11; do \
	    $(CC) -std=$$std -pedantic -Wall -Wextra -Werror -Iinclude -c tests/c/header_compiles.c \
	        -o $(CTEST)/header_$$std.o || exit 1; \
	done
	for std in c++11 c++17; do \
	    $(CXX) -x c++ -std=$$std -pedantic -Wall -Wextra -Werror -Iinclude -c tests/c/header_compiles.c \
	        -o $(CTEST)/header_$$std.o || exit 1; \
	done
	$(CC) $(CFLAGS_TEST) tests/c/test_capi.c -L$(REL) -llifesign \
	    -Wl,-rpath,$(CURDIR)/$(REL) -o $(CTEST)/test_capi_shared
	$(CC) $(CFLAGS_TEST) tests/c/test_capi.c $(REL)/liblifesign.a $(STATIC_LIBS) \
	    -o $(CTEST)/test_capi_static
	$(CXX) -x c++ -std=c++17 -Wall -Wextra -Werror -O2 -g -Iinclude tests/c/test_capi.c \
	    -L$(REL) -llifesign -Wl,-rpath,$(CURDIR)/$(REL) -o $(CTEST)/test_capi_cxx
	for t in shared static cxx; do \
	    echo "test_capi ($$t):"; \
	    LIFESIGN_VECTORS_DIR=tests/vectors $(CTEST)/test_capi_$$t 2>/dev/null || exit 1; \
	done

# The same C tests under AddressSanitizer + UndefinedBehaviorSanitizer
# (static library) and under valgrind memcheck (shared library).
test-c-sanitize: test-c
	$(CC) $(CFLAGS_TEST) -fsanitize=address,undefined -fno-omit-frame-pointer \
	    tests/c/test_capi.c $(REL)/liblifesign.a $(STATIC_LIBS) -o $(CTEST)/test_capi_asan
	@echo "test_capi (ASan+UBSan):"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1 \
	    LIFESIGN_VECTORS_DIR=tests/vectors $(CTEST)/test_capi_asan 2>/dev/null
	@if command -v valgrind >/dev/null; then \
	    echo "test_capi (valgrind memcheck):"; \
	    LIFESIGN_VECTORS_DIR=tests/vectors LIFESIGN_SKIP_FORK_TEST=1 valgrind -q --error-exitcode=99 \
	        --leak-check=full --errors-for-leak-kinds=definite \
	        --trace-children=no $(CTEST)/test_capi_shared 2>$(CTEST)/valgrind.log \
	        || { cat $(CTEST)/valgrind.log; exit 1; }; \
	else echo "valgrind not installed: skipped"; fi

# The ABI against the released one (abi/check.sh: abidiff against the
# committed abidw baseline abi/lifesign.abi), and proof that the guards
# bite: a moved field refused, additions passed, a 0.1 program refused by
# the dynamic loader (tests/abi/run.sh). abi/setup.sh installs libabigail.
test-abi: build
	bash tests/abi/run.sh

# Rewrite abi/lifesign.abi from this build and say what changed: for a
# release that changes the ABI (with its version, hence its SONAME) or adds to it.
abi-bless:
	bash abi/check.sh --bless

# The fuzz targets must build (cargo fuzz when installed, else nightly or
# stable cargo); running them is `make reliability`.
test-fuzz-build:
	bash fuzz/build.sh

# The long form of the stress, fault and hostile-input tests, then each
# fuzz target for FUZZ_SECONDS (default 300): figures in docs/RELIABILITY.md.
reliability: build
	bash tests/reliability/run.sh

test-cmake: build
	@if [ -x cbuild/run-tests.sh ]; then bash cbuild/run-tests.sh; else echo "cbuild: no tests yet"; fi

test-go: build
	@if [ -f bindings/go/run-tests.sh ]; then bash bindings/go/run-tests.sh; else echo "go: no binding yet"; fi

test-node: build
	@if [ -f bindings/node/run-tests.sh ]; then bash bindings/node/run-tests.sh; else echo "node: no binding yet"; fi

test-python: build
	@if [ -f bindings/python/run-tests.sh ]; then bash bindings/python/run-tests.sh; else echo "python: no binding yet"; fi

# Every release artifact into dist/, from one build per Linux target
# (packaging/dist.sh, packaging/targets.sh); then each installed as its
# users would, with no Rust on PATH, the aarch64 ones under qemu-user and the
# musl ones under the musl loader (packaging/test-dist.sh).
# packaging/setup-targets.sh installs the cross binutils, musl-tools and
# qemu-user-static (as root).
dist:
	sh packaging/setup-targets.sh
	bash packaging/dist.sh

# The aarch64 round trips run Debian's arm64 glibc, musl loader and CPython
# under qemu: packaging/sysroot.sh unpacks them into target/dist-sysroot.
test-dist: dist
	bash packaging/sysroot.sh arm64 target/dist-sysroot/arm64
	bash packaging/test-dist.sh

# Regenerate include/lifesign.h from capi/src/lib.rs (the header test checks it).
header:
	LIFESIGN_BLESS=1 $(CARGO) test --release $(LIB_FEATURES) --test header

# Regenerate the bindings' C declaration tables from include/lifesign.h
# (Python ctypes, the Node table and its TypeScript declarations); run it
# after `make header`. test-bindings fails when a committed table is stale,
# and runs the generator's own tests (after test-node, whose npm install
# lets them check the koffi layout too).
bindings:
	bash bindings/gen/run.sh

test-bindings:
	bash bindings/gen/run.sh --check
	bash bindings/gen/run.sh --self-test
	python3 packaging/metadata.py --check

bench: build
	@if [ -f benches/run.sh ]; then bash benches/run.sh; else echo "no benchmarks yet"; fi

# Every benchmark section with a few iterations: fails when one does not
# run; judges no figure and leaves docs/BENCHMARKS.md alone.
bench-smoke: build
	LIFESIGN_BENCH_SMOKE=1 bash benches/run.sh

# For scripts that build the crate themselves (benches/run.sh).
print-lib-features:
	@echo $(LIB_FEATURES)

clean:
	$(CARGO) clean
	rm -rf dist
