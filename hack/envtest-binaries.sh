#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd) from source
# through the Go module proxy, because no prebuilt binaries can be
# downloaded on our machines (DESIGN §7). The result is cached under
# bin/k8s/<version>-<os>-<arch>; a second run only prints that directory.
#
# Usage: hack/envtest-binaries.sh [--print-dir]
#   KUBEBUILDER_ASSETS  a directory that already holds kube-apiserver and etcd
#                 (for example from setup-envtest use): printed, nothing built
#   KUBE_VERSION  Kubernetes release to build (default 1.37.1, matching k8s.io/api v0.37.x)
#   ETCD_VERSION  etcd release (default: the one that Kubernetes release requires)
#   WITH_KUBECTL  also build kubectl at the same version when set to 1
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-1.37.1}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GOOS="$(go env GOOS)"
GOARCH="$(go env GOARCH)"
DEST="${ROOT}/bin/k8s/${KUBE_VERSION}-${GOOS}-${GOARCH}"
WITH_KUBECTL="${WITH_KUBECTL:-0}"

log() { printf '[envtest-binaries] %s\n' "$*" >&2; }

# build OUT PKG LDFLAGS: go build, with a line every 30 s so a first run that
# takes minutes does not look stuck.
build() {
  local out="$1" pkg="$2" flags="$3" started elapsed pid
  started=$(date +%s)
  CGO_ENABLED=0 go build -trimpath -ldflags "${flags}" -o "${out}.tmp" "${pkg}" &
  pid=$!
  while ! wait_for "${pid}" 30; do
    elapsed=$(( $(date +%s) - started ))
    log "  still building ${pkg##*/} ($((elapsed / 60))m$((elapsed % 60))s)"
  done
  wait "${pid}"
  mv "${out}.tmp" "${out}"
  log "built ${out##*/} in $(( $(date +%s) - started ))s"
}

# wait_for PID SECONDS: true once PID has exited, false after SECONDS.
wait_for() {
  local i
  for ((i = 0; i < $2; i++)); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 1
  done
  ! kill -0 "$1" 2>/dev/null
}

# have_all DIR: DIR holds what was asked for.
have_all() {
  [[ -x "$1/kube-apiserver" && -x "$1/etcd" ]] || return 1
  [[ "${WITH_KUBECTL}" != 1 || -x "$1/kubectl" ]]
}

# Binaries someone already has (setup-envtest use, a CI cache) win over a
# build, where the network allows getting them; a KUBEBUILDER_ASSETS that
# lacks them is an error, not a reason to build silently for minutes.
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  if have_all "${KUBEBUILDER_ASSETS}"; then
    log "using KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS}"
    echo "${KUBEBUILDER_ASSETS}"
    exit 0
  fi
  # Asked for kubectl too and not there: build them all below, as without.
  if [[ "${WITH_KUBECTL}" != 1 ]]; then
    log "ERROR: KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS} lacks an executable kube-apiserver and etcd; unset it to build them from source into bin/k8s"
    exit 1
  fi
fi

if have_all "${DEST}"; then
  echo "${DEST}"
  exit 0
fi

major="${KUBE_VERSION%%.*}"
rest="${KUBE_VERSION#*.}"
minor="${rest%%.*}"
staging_version="v0.${rest}"

work="${ROOT}/bin/.envtest-build/${KUBE_VERSION}"
mkdir -p "${work}" "${DEST}"
cd "${work}"

log "building the envtest control plane for Kubernetes v${KUBE_VERSION} from source (first run only, about 5 to 8 minutes on 2 cores)"

if ! out="$(go mod download -json "k8s.io/kubernetes@v${KUBE_VERSION}" 2>&1)"; then
  log "ERROR: the Go module proxy would not serve k8s.io/kubernetes@v${KUBE_VERSION}:"
  printf '%s\n' "${out}" | sed 's/^/    /' >&2
  log "Some releases are refused by the proxy (for example v1.37.2 on 2026-11-22)."
  log "Pick one it serves with KUBE_VERSION=<x.y.z> (v1.37.0 and v1.37.1 are known to work)."
  exit 1
fi
kube_mod="$(printf '%s\n' "${out}" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"

# Kubernetes' own go.mod points its staging modules at ./staging; outside
# that tree each one is published as v0.<minor>.<patch>.
staging="$(sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\1#p' "${kube_mod}")"
etcd_version="${ETCD_VERSION:-$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[0-9.]*\).*#\1#p' "${kube_mod}")}"
if [[ -z "${staging}" || -z "${etcd_version}" ]]; then
  log "ERROR: could not read the staging modules or the etcd version from ${kube_mod}"
  exit 1
fi

{
  echo "module envtest-build"
  echo
  echo "go $(go env GOVERSION | sed 's/^go\([0-9]*\.[0-9]*\).*/\1/')"
  echo
  echo "require k8s.io/kubernetes v${KUBE_VERSION}"
  echo
  for m in ${staging}; do echo "replace ${m} => ${m} ${staging_version}"; done
} > go.mod

log "resolving modules (k8s.io/kubernetes v${KUBE_VERSION}, staging ${staging_version}, etcd ${etcd_version})"
if ! out="$(go get "k8s.io/kubernetes/cmd/kube-apiserver@v${KUBE_VERSION}" "k8s.io/kubernetes/cmd/kubectl@v${KUBE_VERSION}" \
  "go.etcd.io/etcd/server/v3@${etcd_version}" 2>&1)"; then
  log "ERROR: resolving the modules for Kubernetes v${KUBE_VERSION} failed:"
  printf '%s\n' "${out}" | sed 's/^/    /' >&2
  exit 1
fi

pkg="k8s.io/component-base/version"
ldflags="-s -w -X ${pkg}.gitVersion=v${KUBE_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"

if [[ ! -x "${DEST}/kube-apiserver" ]]; then
  log "go build k8s.io/kubernetes/cmd/kube-apiserver (the long step)"
  build "${DEST}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver "${ldflags}"
fi
if [[ ! -x "${DEST}/etcd" ]]; then
  log "go build go.etcd.io/etcd/server/v3 ${etcd_version}"
  build "${DEST}/etcd" go.etcd.io/etcd/server/v3 "-s -w"
fi
if [[ "${WITH_KUBECTL}" == 1 && ! -x "${DEST}/kubectl" ]]; then
  log "go build k8s.io/kubernetes/cmd/kubectl"
  build "${DEST}/kubectl" k8s.io/kubernetes/cmd/kubectl "${ldflags}"
fi

log "envtest binaries ready in ${DEST}"
echo "${DEST}"
