#!/usr/bin/env bash
# Writes the Prometheus Operator's ServiceMonitor and PrometheusRule CRDs into
# bin/monitoring-crds, so the e2e suite can apply the chart's Prometheus
# objects to its control plane and the API server checks them against the
# real schema. Neither the prometheus-operator module (which ships the CRD
# files) nor its releases can be downloaded here, but its API types module
# can: the CRDs are generated from those types with controller-gen, as
# upstream generates them. A second run only prints the directory.
#
# Usage: hack/monitoring-crds.sh CONTROLLER_GEN
#   PROMETHEUS_OPERATOR_VERSION  the types module's version (default v0.95.2)
set -euo pipefail

CONTROLLER_GEN="$1"
VERSION="${PROMETHEUS_OPERATOR_VERSION:-v0.95.2}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="${ROOT}/bin/monitoring-crds/${VERSION}"
MODULE=github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring

if [ ! -f "${DEST}/monitoring.coreos.com_servicemonitors.yaml" ]; then
  src="$(cd "${ROOT}" && go mod download -json "${MODULE}@${VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -n "${src}" ] || { echo "go mod download ${MODULE}@${VERSION} failed" >&2; exit 1; }
  # The module cache is read-only; loading the packages may need to write
  # go.sum, so work on a copy.
  tmp="$(mktemp -d)"
  trap 'rm -rf "${tmp}"' EXIT
  cp -r "${src}/." "${tmp}/" && chmod -R u+w "${tmp}"
  (cd "${tmp}" && GOFLAGS=-mod=mod "${CONTROLLER_GEN}" crd:crdVersions=v1,maxDescLen=0 paths=./v1/ output:crd:dir="${tmp}/out")
  mkdir -p "${DEST}"
  cp "${tmp}/out/monitoring.coreos.com_servicemonitors.yaml" "${tmp}/out/monitoring.coreos.com_prometheusrules.yaml" "${DEST}/"
fi
echo "${DEST}"
