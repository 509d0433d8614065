# A thin wrapper over cargo, cc, cmake, go, npm and python, so that the
# README's commands stay short:
#   make demo   build everything and run the live demonstration
#   make test   run every test suite (what .ci/run runs)
#   make bench  run the benchmarks and rewrite docs/BENCHMARKS.md

CARGO  ?= cargo
CC     ?= cc
CXX    ?= c++
REL    := target/release
CTEST  := target/ctest
CFLAGS_TEST := -std=c11 -Wall -Wextra -Werror -O2 -g -Iinclude
# What a static Rust library needs from the system (cargo's
# --print native-static-libs on Linux/glibc).
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
# One feature set for every cargo command, so that a run builds each crate
# once: `fleet` adds `lifesign relay` and nats:// targets to the CLI only
# (BASE_FEATURES: those of the library itself).
BASE_FEATURES :=
FEATURES := $(BASE_FEATURES) --features fleet

.PHONY: all build demo test test-rust test-c test-c-sanitize test-fuzz-build \
        test-cmake test-go test-node test-python test-fleet lint header bench reliability clean

all: build

build:
	$(CARGO) build --release $(FEATURES) --lib --bins --examples
	ln -sf liblifesign.so $(REL)/liblifesign.so.0

demo: build
	$(REL)/examples/demo

test: build lint test-rust test-c test-c-sanitize test-fuzz-build test-cmake test-go test-node test-python test-fleet
	@echo "make test: every suite passed"

lint:
	$(CARGO) clippy --release --all-targets $(FEATURES) -- -D warnings

test-rust:
	$(CARGO) test --release $(FEATURES)

# The fleet commands against a real nats-server (installed pinned and
# hash-checked into target/fleet-venv; each test starts its own on
# 127.0.0.1), and the C libraries unchanged by the feature.
test-fleet: build
	LIFESIGN_NATS_SERVER="$$(bash tests/fleet/server.sh)" \
	    $(CARGO) test --release $(FEATURES) --test fleet
	bash tests/fleet/lib-unchanged.sh $(BASE_FEATURES)

# The C ABI tests against the shared library, the static library, and
# compiled as C++.
test-c: build
	mkdir -p $(CTEST)
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

# Regenerate include/lifesign.h from src/ffi.rs (the header test checks it).
header:
	LIFESIGN_BLESS=1 $(CARGO) test --release $(FEATURES) --test header

bench: build
	@if [ -f benches/run.sh ]; then bash benches/run.sh; else echo "no benchmarks yet"; fi

clean:
	$(CARGO) clean
