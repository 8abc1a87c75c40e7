# clr-operator Makefile. `make help` lists the targets.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= ghcr.io/learnerrecords/clr-operator:dev
SERVER_IMG ?= ghcr.io/learnerrecords/clr-server:dev
# Images' org.opencontainers.image.version label, and the platforms of `make images`.
VERSION ?= dev
BUILDINFO := github.com/learnerrecords/clr-operator/internal/buildinfo
LDFLAGS ?= -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).revision=$(shell git rev-parse HEAD 2>/dev/null)
PLATFORMS ?= linux/amd64,linux/arm64
CONTROLLER_GEN := go tool controller-gen
# Test timeout: a cold machine compiles the envtest packages first.
TEST_TIMEOUT ?= 30m
GO_TEST_FLAGS ?=

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: ## Generate DeepCopy methods for the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: manifests
manifests: ## Generate CRDs, RBAC (kubebuilder markers) and docs/crd-reference.md.
	$(CONTROLLER_GEN) rbac:roleName=clr-operator-manager crd:allowDangerousTypes=false webhook paths="./api/..." paths="./controllers/..." paths="./internal/..." \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	go run ./hack/crd-docs -crds config/crd/bases -conditions api/v1alpha1/conditions.go -out docs/crd-reference.md
	hack/sync-chart-crds.sh

.PHONY: verify-generated
verify-generated: ## Fail when generated files (deepcopy, CRDs, RBAC) are stale.
	hack/verify-generated.sh
	hack/sync-chart-crds.sh --verify

.PHONY: fmt
fmt: ## Run gofmt on the tree.
	gofmt -l -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet (also on hack/tools/imagebuild, a module of its own).
	go vet ./...
	cd hack/tools/imagebuild && go vet ./...

##@ Test

.PHONY: tools
tools: ## Build (once, cached by version) every binary the tests need.
	hack/test-env.sh > /dev/null

.PHONY: test
test: verify-generated vet ## Run all tests: unit, envtest against a real apiserver/etcd, cert-manager, PostgreSQL.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed on:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	eval "$$(hack/test-env.sh)"; go test -timeout $(TEST_TIMEOUT) $(GO_TEST_FLAGS) ./...
	$(MAKE) test-fuzz

.PHONY: test-fuzz
test-fuzz: ## Run every fuzz target briefly (FUZZTIME each, default 5s).
	hack/fuzz-brief.sh

SCALE_PROVIDERS ?= 1000
.PHONY: bench-scale
bench-scale: ## Scale benchmark of the operator (SCALE_PROVIDERS tenants; results in docs/benchmarks.md).
	eval "$$(hack/test-env.sh)"; go run ./test/scale -providers $(SCALE_PROVIDERS)

.PHONY: bench-scale-operator
bench-scale-operator: ## The operator's own part: providers created once every Issuer has its key.
	eval "$$(hack/test-env.sh)"; go run ./test/scale -providers $(SCALE_PROVIDERS) -issuers-first

##@ Build

.PHONY: build
build: ## Build the operator and clr-server binaries into bin/ (VERSION=... stamps `--version` and build_info).
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)" -o bin/clr-server ./cmd/clr-server

.PHONY: run
run: ## Run the operator against the cluster of the current kubeconfig.
	go run ./cmd/manager

.PHONY: install
install: ## Install the CRDs into the cluster of the current kubeconfig.
	kubectl apply --server-side -f config/crd/bases

.PHONY: uninstall
uninstall: ## Remove the CRDs (and so every Issuer, Framework, CLRProvider) from the cluster.
	kubectl delete --ignore-not-found -f config/crd/bases

.PHONY: images
images: ## Build both images without a container engine into bin/images/ (OCI layouts, docker tarballs; PLATFORMS=...).
	cd hack/tools/imagebuild && go build -o ../../../bin/tools/imagebuild .
	SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} bin/tools/imagebuild \
		-out bin/images -platforms $(PLATFORMS) -version $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null || true)" \
		-manager-image $(IMG) -clr-server-image $(SERVER_IMG)

.PHONY: docker-build
docker-build: ## Build the images with a Docker engine (BuildKit); `make images` needs none.
	docker build --target manager --build-arg VERSION=$(VERSION) --build-arg REVISION="$$(git rev-parse HEAD 2>/dev/null || true)" -t $(IMG) .
	docker build --target clr-server --build-arg VERSION=$(VERSION) --build-arg REVISION="$$(git rev-parse HEAD 2>/dev/null || true)" -t $(SERVER_IMG) .

##@ Run

.PHONY: local-up
local-up: ## Run everything locally without a cluster: control plane, operator, the samples' two institutions (see tmp/local/).
	go run ./hack/localup up

.PHONY: local-demo
local-demo: ## Walk the learner's side on the running local-up: register an app, issue records, sign in (code + PKCE), list credentials, verification page.
	go run ./hack/localup demo

.PHONY: local-down
local-down: ## Stop every process local-up started (by pid); logs and data stay in tmp/local/ until the next local-up.
	go run ./hack/localup down

.PHONY: test-e2e
test-e2e: ## End-to-end suite on its own local-up environment (fails while one is up; CLR_E2E_SAMPLES=DIR for other manifests).
	go test -tags e2e -count=1 -timeout 15m -v ./test/e2e/

.PHONY: local-status
local-status: ## List the processes local-up started and the institutions' URLs.
	go run ./hack/localup status
