# glassagent: `make demo` shows it working, `make test` proves it.
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
PKGS ?= ./...

.PHONY: all build demo test test-vm deps vet bench bench-faults soak cross clean

all: build

build:
	$(GO) build -o glassagent ./cmd/glassagent

demo:
	$(GO) run ./cmd/glassagent demo

# Installs what the tests need (Debian packages), then runs every test with
# the race detector.
test: deps vet
	$(GO) test -race -timeout 14m $(PKGS)
	cd third_party/gosrt && $(GO) test -race ./congestion/... ./packet/... ./circular/...
	./scripts/test-cross.sh
	./scripts/vm/run.sh

# Device code against real kernel drivers (vivid, snd-aloop) in a QEMU guest.
test-vm:
	./scripts/vm/run.sh

deps:
	./scripts/test-deps.sh

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	CGO_ENABLED=0 $(GO) build ./...

cross:
	./scripts/cross-build.sh

bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# 30 minutes of SRT with a fault every minute; nothing may grow (root).
# `make test` runs the same for 2 minutes.
soak:
	GLASSAGENT_SOAK=30m $(GO) test -count=1 -timeout 40m -run '^TestSoak$$' -v ./control/

# Fault figures, glassagent beside ffmpeg, into bench/faults.md (root).
bench-faults:
	./scripts/bench-faults.sh

clean:
	rm -f glassagent glassagent-demo.ts
