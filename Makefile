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

# Files `make generate manifests` owns; verify-generated checks them.
GENERATED := api/v1alpha1/zz_generated.deepcopy.go config/crd/bases/tollgate.dev_llmpolicies.yaml

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  %-20s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate deepcopy code for the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the LLMPolicy CRD.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:artifacts:config=config/crd/bases

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
test: vet verify-generated control-plane ## Run everything CI runs: vet, generated-files check, race tests.
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) test -race -count=1 ./...

.PHONY: test-short
test-short: control-plane ## Run the tests without -race (faster while developing).
	KUBEBUILDER_ASSETS=$(KUBEBUILDER_ASSETS) $(GO) test -count=1 ./...

.PHONY: control-plane
control-plane: ## Build kube-apiserver, kubectl and etcd for envtest (once; cached in bin/k8s/).
	@hack/build-control-plane.sh $(KUBE_VERSION) $(ETCD_VERSION) >/dev/null

##@ Tools

$(CONTROLLER_GEN):
	@mkdir -p $(BIN)
	@echo "installing controller-gen $(CONTROLLER_GEN_VERSION)"
	@tmp=$$(mktemp -d); GOBIN=$$tmp $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION) && mv $$tmp/controller-gen $@; rm -rf $$tmp
