# SPDX-License-Identifier: MIT
# Front door for people: `make demo` and `make check` work on a fresh Debian machine as
# root (they install what they need). CMake does the real build; see CMakeLists.txt.
#   make          release build -> build/botwatch
#   make demo     install deps, build, fetch the SpamAssassin corpus + ASN data, ingest,
#                 print the report and write out/report.html
#   make check    install deps, build with ASan+UBSan, run every test, then every fuzz
#                 target for FUZZ_SECONDS (CI runs this)
#   make fuzz     build libFuzzer targets with clang (build-fuzz/fuzz/fuzz_*)
#   make bench    release build + run the benchmarks in bench/
JOBS ?= $(shell nproc)
BW_DATA ?= $(HOME)/.cache/botwatch
export BW_DATA
DEMO_DB ?= out/demo.db
FUZZ_SECONDS ?= 10

.PHONY: all deps data demo check fuzz bench clean

all: build/botwatch

deps:
	@bash scripts/install-deps.sh

# MAKEFLAGS is cleared for CMake's own makefiles so their output stays readable.
CMAKE_BUILD = env -u MAKEFLAGS -u MAKELEVEL cmake --build

build/botwatch: deps FORCE
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@$(CMAKE_BUILD) build -j$(JOBS) --target botwatch

data:
	@bash scripts/fetch-data.sh >/dev/null

demo: build/botwatch data
	@bash scripts/demo.sh build/botwatch "$(DEMO_DB)"

check: deps data
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DBW_SANITIZE=ON >/dev/null
	@$(CMAKE_BUILD) build-asan -j$(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS)
	@# The tests that run threads (ingest's reader, workers, writer and end-of-run threads;
	@# the store's checkpoint thread; parallel campaign preparation) under ThreadSanitizer:
	@# a data race fails the check.
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBW_SANITIZE=OFF \
	  -DCMAKE_C_FLAGS="-fsanitize=thread -g" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread >/dev/null
	@$(CMAKE_BUILD) build-tsan -j$(JOBS) --target test_ingest test_campaign test_store
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -R '^(test_ingest|test_campaign|test_store)$$'
	@$(MAKE) --no-print-directory fuzz
	@bash scripts/fuzz-smoke.sh build-fuzz $(FUZZ_SECONDS)

fuzz: deps
	@cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DBW_FUZZ=ON -DBW_BENCH=OFF -DBW_TESTS=OFF >/dev/null
	@$(CMAKE_BUILD) build-fuzz -j$(JOBS)

bench: build/botwatch data
	@$(CMAKE_BUILD) build -j$(JOBS)
	@bash bench/run.sh build

clean:
	rm -rf build build-asan build-fuzz out

FORCE:
