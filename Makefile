# The two commands a newcomer needs are `make demo` and `make test`; each
# does its own set-up (ensure-postgres installs PostgreSQL where it can).
#
# Tests that touch data use TEST_DATABASE_URL when set (each test gets its
# own randomly named database there, dropped after); without it, each test
# process starts and removes a throwaway PostgreSQL server of its own. Tests
# never read DATABASE_URL: in an operator's shell it names production.

GO        ?= go
BIN       ?= bin/broadcaster
# Per test binary; the whole suite must stay well under CI's ten minutes.
TEST_TIMEOUT ?= 5m
# How long each fuzz target runs under `make fuzz`.
FUZZTIME  ?= 10s

.PHONY: all build test vet lint bench bench-go fuzz demo console screenshots console-cost chaos ensure-postgres ensure-chromium schema clean

all: lint build test

ensure-postgres:
	@bash scripts/ensure-postgres

# Chromium and the Noto CJK fonts, for the console's browser test.
ensure-chromium:
	@bash scripts/ensure-chromium

build:
	$(GO) build -o $(BIN) ./cmd/broadcaster

vet:
	$(GO) vet ./...

test: ensure-postgres ensure-chromium vet
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

# gofmt plus vet; no third-party linters, so it runs anywhere Go does.
lint: vet
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The performance table of issue 11: each scenario's figure, its target and
# whether it holds, with the bare HTTP loop measured in the same run. Five
# to ten minutes on two cores at the issue's sizes; BENCH_SCALE=0.1 for a
# quick check (see cmd/benchtable for BENCH_RUN, BENCH_PG_SETTINGS,
# BENCH_VERBOSE).
# River, measured beside broadcaster in the throughput scenario, is a module
# of its own (bench/river), so that go.mod never names it; where its modules
# cannot be downloaded, the table leaves its row out.
bench: ensure-postgres build
	@river=; \
	if (cd bench/river && $(GO) mod download); then \
		(cd bench/river && $(GO) build -o ../../bin/river-bench .) || exit 1; \
		river=bin/river-bench; \
	else echo "bench: bench/river's modules could not be downloaded; the table leaves River out"; fi; \
	echo "$(GO) run ./cmd/benchtable -binary $(BIN) $${river:+-river $$river}"; \
	$(GO) run ./cmd/benchtable -binary $(BIN) $${river:+-river $$river}

# The Go micro-benchmarks (go test -bench) of every package.
bench-go: ensure-postgres
	$(GO) test -run '^$$' -bench . -benchmem -timeout $(TEST_TIMEOUT) ./...

# go test -fuzz takes one target in one package at a time: run each
# Fuzz function found in the test files for FUZZTIME.
fuzz: ensure-postgres
	@set -e; found=0; \
	for pkg in $$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}:{{.Dir}}{{end}}' ./...); do \
		dir=$${pkg#*:}; pkg=$${pkg%%:*}; \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$dir/*_test.go); do \
			found=1; echo "== $$pkg $$fn"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done; \
	if [ $$found = 0 ]; then echo "no fuzz targets"; fi

# schema.sql is generated from migrations/*.sql; a test keeps them equal.
schema:
	$(GO) test -count=1 -run TestSchemaSQLIsGeneratedFromMigrations . -update-schema

demo: ensure-postgres
	$(GO) run ./cmd/broadcaster demo

# The demo, then its database, simulated API and a daemon kept running with
# the operator console open: prints the URL and tokens; Ctrl-C stops it all.
console: ensure-postgres
	$(GO) run ./cmd/broadcaster demo --console

# EXPLAIN (ANALYZE, BUFFERS) of every console query on 1,000,000 deliveries
# (CONSOLE_COST=N for another size, CONSOLE_COST_PLANS=1 to print the plans).
# Several minutes of filling; not part of make test.
console-cost: ensure-postgres
	CONSOLE_COST=$${CONSOLE_COST:-1} $(GO) test -count=1 -timeout 40m -run '^TestConsole(QueryCost|IndexWAL)$$' -v ./db

# The console's browser test, saving each page in English and Chinese to
# docs/screenshots/ (shown in the README).
screenshots: ensure-postgres ensure-chromium
	mkdir -p docs/screenshots
	BROADCASTER_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^TestConsoleInABrowser$$' ./cmd/broadcaster

# Fault experiments against the real binary (issue 8): PostgreSQL stopped and
# started under it, kill -9, SIGTERM, a role that cannot write. Each runs on
# a throwaway PostgreSQL of its own; prints a Markdown table and exits 1 if
# any bound broke. About three minutes; not part of `make test`.
chaos: ensure-postgres build
	$(GO) run ./cmd/chaos -binary $(BIN)

clean:
	rm -rf bin
