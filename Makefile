# Veil: the two commands of the quick start, and a few more.
#   make demo   install what is missing, build, run the local network and its scenario
#   make test   install what is missing, build, run every test (plain and ASan+UBSan)
#   make bench  build and run the benchmarks (prints "BENCH <name> <value> <unit>")
#   make fuzz   build the libFuzzer targets with clang and fuzz each for FUZZ_SECONDS
#   make install PREFIX=/usr/local [ENCLAVE_DIR=PREFIX/lib/veil/enclaves] [DESTDIR=...]

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
PREFIX     ?= /usr/local
ENCLAVE_DIR ?=
CTEST_ARGS ?=

.PHONY: all deps build asan test test-plain test-asan demo bench fuzz install clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVEIL_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)

test-plain: build
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) $(CTEST_ARGS)

test-asan: asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j$(JOBS) $(CTEST_ARGS)

test: test-plain test-asan

# The demo's build is quiet (its log is kept; shown on a failure), so the story is what
# a newcomer reads.
demo: deps
	@echo "demo: building (log: $(BUILD)/build.log)"
	@{ cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo && \
	   cmake --build $(BUILD) -j$(JOBS); } >$(BUILD).log 2>&1 || \
	  { tail -n 40 $(BUILD).log; echo "demo: the build failed (full log: $(BUILD).log)"; exit 1; }
	@mv -f $(BUILD).log $(BUILD)/build.log
	@scripts/demo $(BUILD)

bench: build
	@scripts/bench $(BUILD)

fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DVEIL_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

install: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) \
	  $(if $(ENCLAVE_DIR),-DVEIL_ENCLAVE_INSTALL_DIR=$(ENCLAVE_DIR)) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
