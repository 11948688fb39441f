# Tollgate — build, generate and test.
#
# `make test` is what CI runs (.ci/run): vet, the stale-generated-files check,
# and the race-enabled test suite against a real kube-apiserver + etcd that
# hack/build-control-plane.sh builds once into bin/k8s/.

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec
.DEFAULT_GOAL := help

export GOTOOLCHAIN ?= local
GO ?= go

BIN := $(CURDIR)/bin
KUBE_VERSION ?= v1.37.2
ETCD_VERSION ?= v3.6.16
CONTROLLER_GEN_VERSION ?= v0.23.0
CONTROLLER_GEN := $(BIN)/controller-gen-$(CONTROLLER_GEN_VERSION)
KUBEBUILDER_ASSETS := $(BIN)/k8s/$(KUBE_VERSION)-etcd-$(ETCD_VERSION)
HELM_VERSION ?= v3.22.0
HELM := $(BIN)/helm-$(HELM_VERSION)

# Images: `make images` writes REGISTRY/tollgate-<name>:TAG, by default the
# names the chart runs (values.yaml's repositories, Chart.yaml's appVersion).
REGISTRY ?= ghcr.io/tollgate-dev
TAG ?= $(shell awk '/^appVersion:/ {gsub(/"/, "", $$2); print $$2}' charts/tollgate/Chart.yaml)
# One platform per build, this machine's architecture by default (a kind
# node's). No multi-platform index: the archive format that kind, ctr and
# crane all read (docker-archive, see internal/images/doc.go) holds one
# image per tag; build and push each architecture with its own PLATFORM
# and TAG, e.g. PLATFORM=linux/arm64 TAG=0.1.0-arm64.
PLATFORM ?= linux/$(shell $(GO) env GOARCH)
# The images' created time, and so their digests: the last commit's time, so
# that building a commit again gives the same digests.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGES_DIR := $(BIN)/images
# crane at the version of go-containerregistry in go.mod (evaluated only when used).
CRANE = $(GO) run github.com/google/go-containerregistry/cmd/crane@$(shell $(GO) list -m -f '{{.Version}}' github.com/google/go-containerregistry)

# How much each fuzz target runs in `make fuzz` (part of `make test`): a count
# of inputs, not a duration. Go 1.26's fuzz coordinator can fail a target with a
# bare "context deadline exceeded" when a -fuzztime duration ends while a worker
# is busy (go.dev/issue/75804, fixed in Go 1.27); a count sets no deadline.
# 20000 inputs take 2-22 s per target here (about 70 s for all ten).
FUZZTIME ?= 20000x
# package:FuzzTarget pairs run by `make fuzz`.
FUZZ_TARGETS := ./pkg/wire:FuzzEventReader ./pkg/wire:FuzzPicker ./pkg/provider:FuzzStreamObserver ./pkg/provider:FuzzParseRequest \
	./internal/sidecar/loader:FuzzParse ./pkg/cache:FuzzKey ./pkg/cache:FuzzReplay ./pkg/semantic:FuzzSplit ./pkg/wire:FuzzMembers ./pkg/provider:FuzzUsageDecoders

# Files `make generate manifests` owns; verify-generated checks them.
GENERATED := api/v1alpha1/zz_generated.deepcopy.go config/crd/bases/tollgate.dev_llmpolicies.yaml \
	charts/tollgate/crds/tollgate.dev_llmpolicies.yaml config/default/crd/tollgate.dev_llmpolicies.yaml \
	api/v1alpha1/validation/tollgate.dev_llmpolicies.yaml

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-20s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the LLMPolicy CRD (and the Helm chart's copy).
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	@$(MAKE) --no-print-directory chart-crds

.PHONY: chart-crds
chart-crds: ## Copy the generated CRDs into charts/tollgate/crds and config/default/crd, and the LLMPolicy CRD where Go defaulting embeds it.
	@for d in charts/tollgate/crds config/default/crd; do mkdir -p $$d; rm -f $$d/*.yaml; cp config/crd/bases/*.yaml $$d/; done
	@cp config/crd/bases/tollgate.dev_llmpolicies.yaml api/v1alpha1/validation/

.PHONY: verify-generated
verify-generated: ## Fail if generated files differ from `make generate manifests`.
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for f in $(GENERATED); do mkdir -p $$tmp/$$(dirname $$f); cp $$f $$tmp/$$f 2>/dev/null || true; done; \
	$(MAKE) --no-print-directory generate manifests >/dev/null; \
	stale=0; for f in $(GENERATED); do \
	  if ! diff -u $$tmp/$$f $$f; then stale=1; fi; \
	done; \
	if [ $$stale = 1 ]; then echo "generated files are stale: run 'make generate manifests' and commit the result" >&2; exit 1; fi; \
	echo "generated files are up to date"

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: build
build: ## Build the binaries into bin/.
	$(GO) build -o $(BIN)/ ./cmd/...

##@ Test

.PHONY: test
test: vet verify-generated control-plane helm ## Run everything CI runs: vet, generated-files check, race tests, short fuzzing.
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) test -race -count=1 -timeout 30m ./...
	@$(MAKE) --no-print-directory fuzz

.PHONY: fuzz
fuzz: ## Run each fuzz target for FUZZTIME (default 20000x: inputs, not seconds).
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$pkg $$fn ($(FUZZTIME))"; \
	  out=$$(mktemp); \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) $$pkg >$$out 2>&1 || { tail -n 60 $$out; rm -f $$out; exit 1; }; \
	  rm -f $$out; \
	done

.PHONY: bench bench-quick
bench: ## Benchmark the sidecar against direct calls and a plain ReverseProxy, beside the Portkey gateway if npm is there (~11 min; BENCH_ARGS=-peer none skips it, 5–6 min); table to stdout, JSON to bench/results/latest.json.
	$(GO) run ./bench/cmd/tollgate-bench -out bench/results/latest.json $(BENCH_ARGS)

bench-quick: ## Smoke-run the benchmark (~30 s; numbers not to quote).
	$(GO) run ./bench/cmd/tollgate-bench -quick -out ""

.PHONY: bench-ledger bench-ledger-quick
bench-ledger: control-plane ## Benchmark the operator's budget ledger under 1000 simulated sidecars against a real API server (~8 min); JSON to bench/results/ledger-latest.json.
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) run ./bench/cmd/tollgate-ledger-bench -out bench/results/ledger-latest.json $(BENCH_ARGS)

bench-ledger-quick: control-plane ## Smoke-run the ledger benchmark (~1 min; numbers not to quote).
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) run ./bench/cmd/tollgate-ledger-bench -quick -out ""

.PHONY: demo
demo: control-plane ## Run Tollgate end to end on this machine, narrated (KEEP=1 keeps it running until Ctrl-C; DEMO_FLAGS=-v shows the processes' logs).
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) run ./hack/demo $(if $(KEEP),-keep) $(DEMO_FLAGS)

.PHONY: test-short
test-short: control-plane helm ## Run the tests without -race (faster while developing).
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) test -count=1 ./...

.PHONY: helm
helm: ## Build helm (once; cached in bin/) for the chart tests.
	@hack/install-helm.sh $(HELM_VERSION) >/dev/null

.PHONY: control-plane
control-plane: ## Build kube-apiserver, kubectl and etcd for envtest (once; cached in bin/k8s/).
	@hack/build-control-plane.sh $(KUBE_VERSION) $(ETCD_VERSION) >/dev/null

##@ Tools

.PHONY: tools
tools: control-plane helm ## Put helm and kubectl (built from the Go module proxy) in bin/tools, for PATH.
	@mkdir -p $(BIN)/tools
	@ln -sf $(HELM) $(BIN)/tools/helm
	@ln -sf $(KUBEBUILDER_ASSETS)/kubectl $(BIN)/tools/kubectl
	@echo 'helm and kubectl are in bin/tools: export PATH="$$PWD/bin/tools:$$PATH"'

$(CONTROLLER_GEN):
	@mkdir -p $(BIN)
	@echo "installing controller-gen $(CONTROLLER_GEN_VERSION)"
	@tmp=$$(mktemp -d); GOBIN=$$tmp $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION) && mv $$tmp/controller-gen $@; rm -rf $$tmp

##@ Images

.PHONY: images
images: ## Build the operator and sidecar images as archives in bin/images/ (no container engine needed).
	SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH) $(GO) run ./hack/images -registry $(REGISTRY) -tag $(TAG) -platform $(PLATFORM) -out $(IMAGES_DIR)

.PHONY: images-push
images-push: images ## Push the images to REGISTRY with crane; log in first: make crane ARGS='auth login <host> -u <user> --password-stdin'.
	@for name in tollgate-operator tollgate-sidecar; do \
	  echo "crane push $(IMAGES_DIR)/$$name.tar $(REGISTRY)/$$name:$(TAG)"; \
	  $(CRANE) push $(IMAGES_DIR)/$$name.tar $(REGISTRY)/$$name:$(TAG); \
	done

.PHONY: crane
crane: ## Run crane at go.mod's go-containerregistry version: make crane ARGS='...'.
	$(CRANE) $(ARGS)
