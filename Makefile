# Image URL to use all building/pushing image targets
DEFAULT_IMG = ghcr.io/omnivector-solutions/vantage-credential-operator:latest
IMG ?= $(DEFAULT_IMG)

# Kubernetes release the envtest control plane is built from (hack/envtest-binaries.sh).
KUBE_VERSION ?= 1.37.1

# Get the currently used golang install path (in GOPATH/bin, unless GOBIN is set)
ifeq (,$(shell go env GOBIN))
GOBIN=$(shell go env GOPATH)/bin
else
GOBIN=$(shell go env GOBIN)
endif

# Setting SHELL to bash allows bash commands to be executed by recipes.
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and the ClusterRole from the Go markers.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	"$(CONTROLLER_GEN)" object paths="./..."

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code (the soak and bench tests too, which only make soak and make bench run).
	go vet ./...
	go vet -tags soak ./test/soak/
	go vet -tags bench ./test/bench/

.PHONY: verify-generated
verify-generated: manifests generate ## Fail when generated files differ from what is committed.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		echo "generated files are out of date; run 'make manifests generate' and commit:"; \
		git status --porcelain -- api config; git --no-pager diff --stat -- api config; exit 1; \
	fi

.PHONY: verify-fmt
verify-fmt: ## Fail when gofmt would change a file.
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Each fuzz target runs briefly on every test run; longer runs: make fuzz
# FUZZTIME=2000000x (or a duration). A count, not a duration: with Go 1.26 a
# duration can end in a spurious "context deadline exceeded" when the
# coordinator's deadline races a worker (golang/go#75804, fixed in Go 1.27),
# which failed CI once on a loaded machine; a count sets no deadline.
FUZZTIME ?= 20000x

.PHONY: fuzz
fuzz: ## Run every Go fuzz target for FUZZTIME each.
	@for pkg in $$(go list ./...); do \
		dir=$$(go list -f '{{.Dir}}' $$pkg); \
		for t in $$(grep -hoE '^func Fuzz[A-Za-z0-9_]+' $$dir/*_test.go 2>/dev/null | sed 's/^func //'); do \
			echo "fuzz $$pkg $$t ($(FUZZTIME))"; \
			go test -run='^$$' -fuzz="^$$t$$" -fuzztime=$(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

# -timeout 30m: the controller suite runs about 10 minutes on 2 cores, right
# at go test's default limit, which stopped CI once on a slower machine.
.PHONY: test
test: verify-fmt vet verify-generated verify-helm-chart envtest promtool ## Run vet, the unit tests (the alerts through promtool too), the envtest suites and the fuzz targets briefly.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" go test $$(go list ./... | grep -v /test/e2e) -coverprofile cover.out -timeout 30m
	$(MAKE) fuzz

.PHONY: test-e2e
test-e2e: envtest build-installer build-tools helm controller-gen ## Run the end-to-end suite: dist/install.yaml, the Helm chart and the manager binary on a local control plane.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" KUBECTL="$(KUBECTL_CMD)" HELM="$(HELM)" \
		MONITORING_CRDS="$$(hack/monitoring-crds.sh "$(CONTROLLER_GEN)")" go test ./test/e2e/ -v -ginkgo.v -timeout 20m

SOAK_CREDENTIALS ?= 200
SOAK_DURATION ?= 5m
.PHONY: soak
soak: envtest build-tools ## Run SOAK_CREDENTIALS credentials for SOAK_DURATION against a token server failing 30% of requests; prints a SOAK line.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" KUBECTL="$(KUBECTL_CMD)" SOAK_CREDENTIALS=$(SOAK_CREDENTIALS) SOAK_DURATION=$(SOAK_DURATION) \
		go test -tags soak ./test/soak/ -v -count=1 -timeout 60m

BENCH_CREDENTIALS ?= 1000
BENCH_UNRELATED ?= 0
BENCH_CLIENTS ?= 1
BENCH_MODE ?=
BENCH_NAMESPACES ?= 1000
BENCH_WORKLOADS ?= 1000
BENCH_RUN ?= .
.PHONY: bench
bench: envtest build-tools ## Benchmark BENCH_CREDENTIALS credentials (BENCH_UNRELATED>0: also with that many unrelated Secrets; BENCH_MODE=apikey: API keys; BENCH_MODE=serviceaccount: ServiceAccount tokens) and one ClusterVantageCredential over BENCH_NAMESPACES namespaces, and BENCH_WORKLOADS credentials restarting a Deployment each (BENCH_RUN=TestBench, TestFanout or TestRestarts: one of them); prints BENCH lines.
	KUBEBUILDER_ASSETS="$$($(ENVTEST_SETUP))" KUBECTL="$(KUBECTL_CMD)" BENCH_CREDENTIALS=$(BENCH_CREDENTIALS) BENCH_UNRELATED=$(BENCH_UNRELATED) BENCH_CLIENTS=$(BENCH_CLIENTS) BENCH_MODE=$(BENCH_MODE) \
		BENCH_NAMESPACES=$(BENCH_NAMESPACES) BENCH_WORKLOADS=$(BENCH_WORKLOADS) BENCH_MANAGER_ARGS="$(BENCH_MANAGER_ARGS)" BENCH_PPROF_DIR="$(if $(BENCH_PPROF_DIR),$(abspath $(BENCH_PPROF_DIR)))" \
		go test -tags bench ./test/bench/ -run '$(BENCH_RUN)' -v -count=1 -timeout 60m

DEMO_DIR ?= bin/demo
.PHONY: demo
demo: envtest build-tools ## Show the operator at work on a local control plane, no cluster needed (DEMO_EXIT=1: stop after the first refresh).
	@KUBECTL="$(KUBECTL_CMD)" bin/demo-runner --assets "$$($(ENVTEST_SETUP))" --manager bin/manager \
		--fake-vantage bin/fake-vantage --dir "$(DEMO_DIR)" $(if $(DEMO_EXIT),--exit-after-refresh)

.PHONY: fake-vantage
fake-vantage: build-tools ## Run the fake Vantage server on 127.0.0.1:8900 (client ci-runner:replace-me, 60 s tokens), for make run.
	bin/fake-vantage --listen 127.0.0.1:8900 --client ci-runner:replace-me --lifetime 60s

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager and the kubectl vantage plugin.
	go build -o bin/manager ./cmd
	go build -o bin/kubectl-vantage ./cmd/kubectl-vantage

.PHONY: build-tools
build-tools: ## Build the manager (as the image does: static, stripped), the kubectl vantage plugin, the fake Vantage server and the demo into bin/.
	CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o bin/manager ./cmd
	go build -o bin/kubectl-vantage ./cmd/kubectl-vantage
	go build -o bin/fake-vantage ./hack/fake-vantage
	go build -o bin/demo-runner ./hack/demo

# RUN_ARGS are extra manager flags, e.g. the fake server of make fake-vantage:
#   make run RUN_ARGS="--default-token-url=http://127.0.0.1:8900/oauth/token --default-api-url=http://127.0.0.1:8900"
.PHONY: run
run: manifests generate fmt vet ## Run a controller from your host against the cluster in your kubeconfig.
	go run ./cmd/main.go $(RUN_ARGS)

.PHONY: docker-build
docker-build: ## Build docker image with the manager (needs a container engine).
	docker build -t ${IMG} .

.PHONY: docker-push
docker-push: ## Push docker image with the manager.
	docker push ${IMG}

# The installer is rendered from config/default through a throwaway overlay
# that only sets the image, so config/ itself never changes with IMG.
.PHONY: build-installer
build-installer: manifests generate ## Write dist/install.yaml (CRD, RBAC and Deployment with image IMG) and dist/install-rollout-restart.yaml (the same with config/rollout-restart).
	@mkdir -p dist/installer
	@printf '%s\n' \
		'apiVersion: kustomize.config.k8s.io/v1beta1' \
		'kind: Kustomization' \
		'resources:' \
		'- ../../config/default' \
		'patches:' \
		'- target: {kind: Deployment, name: controller-manager}' \
		'  patch: |-' \
		'    - op: replace' \
		'      path: /spec/template/spec/containers/0/image' \
		'      value: $(IMG)' > dist/installer/kustomization.yaml
	@"$(KUBECTL_CMD)" kustomize dist/installer > dist/install.yaml
	@printf '%s\n' 'components:' '- ../../config/rollout-restart' >> dist/installer/kustomization.yaml
	@"$(KUBECTL_CMD)" kustomize dist/installer > dist/install-rollout-restart.yaml
	@echo "wrote dist/install.yaml and dist/install-rollout-restart.yaml (with config/rollout-restart) (image $(IMG))"

# The chart is generated from config/ (hack/helmchart), like
# dist/install.yaml: kustomize stays the single source, and CI fails when
# the committed chart differs from a fresh one (verify-helm-chart).
.PHONY: helm-chart
helm-chart: manifests ## Write the Helm chart dist/chart from config/ (image IMG).
	@go run ./hack/helmchart -kubectl "$(KUBECTL_CMD)" -img "$(IMG)" -out dist/chart
	@echo "wrote dist/chart (image $(IMG))"

.PHONY: verify-helm-chart
verify-helm-chart: ## Fail when dist/chart differs from what make helm-chart writes.
	@$(MAKE) --no-print-directory helm-chart IMG=$(DEFAULT_IMG) >/dev/null
	@if ! git diff --quiet -- dist/chart || [ -n "$$(git ls-files --others --exclude-standard -- dist/chart)" ]; then \
		echo "dist/chart is out of date; run 'make helm-chart' and commit:"; \
		git status --porcelain -- dist/chart; git --no-pager diff -- dist/chart | head -n 60; exit 1; \
	fi

.PHONY: krew-manifest
krew-manifest: ## Build the kubectl-vantage release archives and the krew manifest for VERSION (e.g. v0.1.0) into dist/.
	VERSION="$(VERSION)" hack/krew-manifest.sh

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests ## Install CRDs into the K8s cluster specified in ~/.kube/config.
	"$(KUBECTL_CMD)" apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Uninstall CRDs from the K8s cluster specified in ~/.kube/config.
	"$(KUBECTL_CMD)" delete --ignore-not-found=$(ignore-not-found) -k config/crd

.PHONY: deploy
deploy: build-installer ## Deploy the operator (image IMG) to the K8s cluster specified in ~/.kube/config.
	"$(KUBECTL_CMD)" apply --server-side -f dist/install.yaml

.PHONY: undeploy
undeploy: ## Remove the operator from the K8s cluster specified in ~/.kube/config.
	"$(KUBECTL_CMD)" delete --ignore-not-found=$(ignore-not-found) -k config/default

##@ Dependencies

LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
CONTROLLER_TOOLS_VERSION ?= v0.23.0
ENVTEST_SETUP ?= KUBE_VERSION=$(KUBE_VERSION) hack/envtest-binaries.sh
# kubectl: $$KUBECTL, else the one on the PATH, else one built at the control
# plane's version (evaluated by the shell when a recipe needs it).
KUBECTL_CMD = $${KUBECTL:-$$(command -v kubectl || echo "$$(WITH_KUBECTL=1 $(ENVTEST_SETUP))/kubectl")}

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Build controller-gen locally if necessary.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

# promtool runs the alert tests (config/prometheus/rules_test.go). It is
# unpacked from Debian's prometheus package, nothing installed: 19 MB and a
# few seconds, where building it from source through the Go module proxy
# (github.com/prometheus/prometheus/cmd/promtool@v0.316.0, Prometheus 3.16)
# takes 14 minutes and 1.8 GB of modules on 2 cores. The version is the one
# the machine's Debian release carries (2.42 on bookworm); the tests pass with
# 3.16 too: PROMTOOL=/path/to/promtool go test ./config/prometheus/ runs them
# with another build. PROMTOOL is set with = so that variable, inherited from
# the environment, cannot make this recipe write elsewhere.
PROMTOOL = $(LOCALBIN)/promtool

.PHONY: promtool
promtool: $(PROMTOOL) ## Unpack promtool from Debian's prometheus package into bin/ if necessary.
$(PROMTOOL): | $(LOCALBIN)
	@set -e; tmp="$$(mktemp -d)"; trap 'rm -rf "$$tmp"' EXIT; cd "$$tmp"; \
	echo "Downloading Debian's prometheus package for promtool"; \
	apt-get download -q prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download -q prometheus >/dev/null; }; \
	dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool; \
	mv usr/bin/promtool "$(PROMTOOL).tmp" && mv "$(PROMTOOL).tmp" "$(PROMTOOL)"; \
	"$(PROMTOOL)" --version | head -n 1

# helm, built from source through the Go module proxy like the envtest
# binaries (about 3 minutes on 2 cores, once): the e2e suite lints the chart,
# applies what it renders and installs it.
HELM ?= $(LOCALBIN)/helm
HELM_VERSION ?= v3.22.0

.PHONY: helm
helm: $(HELM) ## Build helm into bin/ if necessary.
$(HELM): | $(LOCALBIN)
	$(call go-install-tool,$(HELM),helm.sh/helm/v3/cmd/helm,$(HELM_VERSION))

.PHONY: envtest
envtest: ## Build kube-apiserver and etcd for envtest from source into bin/k8s (first run takes minutes).
	@$(ENVTEST_SETUP) >/dev/null

# go-install-tool will 'go install' any package with custom target and name of binary, if it doesn't exist
# $1 - target path with name of binary
# $2 - package url which can be installed
# $3 - specific version of package
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Downloading $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$(LOCALBIN)/$$(basename "$(1)")" "$(1)-$(3)" ;\
} ;\
ln -sf "$$(realpath "$(1)-$(3)")" "$(1)"
endef
