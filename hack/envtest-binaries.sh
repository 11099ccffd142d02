#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver and etcd) from source
# through the Go module proxy, because no prebuilt binaries can be
# downloaded on our machines (DESIGN §7). The result is cached under
# bin/k8s/<version>-<os>-<arch>; a second run only prints that directory.
#
# Usage: hack/envtest-binaries.sh [--print-dir]
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

have_all() {
  [[ -x "${DEST}/kube-apiserver" && -x "${DEST}/etcd" ]] || return 1
  [[ "${WITH_KUBECTL}" != 1 || -x "${DEST}/kubectl" ]]
}

if have_all; then
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

log "building kube-apiserver and etcd for Kubernetes v${KUBE_VERSION} from source (first run only, about 5 minutes on 2 cores)"

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
if ! out="$(go get "k8s.io/kubernetes/cmd/kube-apiserver@v${KUBE_VERSION}" "go.etcd.io/etcd/server/v3@${etcd_version}" 2>&1)"; then
  log "ERROR: resolving the modules for Kubernetes v${KUBE_VERSION} failed:"
  printf '%s\n' "${out}" | sed 's/^/    /' >&2
  exit 1
fi

pkg="k8s.io/component-base/version"
ldflags="-s -w -X ${pkg}.gitVersion=v${KUBE_VERSION} -X ${pkg}.gitMajor=${major} -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"

start=$(date +%s)
log "go build k8s.io/kubernetes/cmd/kube-apiserver (this is the long step)"
CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags}" -o "${DEST}/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "${DEST}/kube-apiserver.tmp" "${DEST}/kube-apiserver"
log "kube-apiserver built in $(( $(date +%s) - start ))s"

start=$(date +%s)
log "go build go.etcd.io/etcd/server/v3 ${etcd_version}"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${DEST}/etcd.tmp" go.etcd.io/etcd/server/v3
mv "${DEST}/etcd.tmp" "${DEST}/etcd"
log "etcd built in $(( $(date +%s) - start ))s"

if [[ "${WITH_KUBECTL}" == 1 ]]; then
  start=$(date +%s)
  log "go build k8s.io/kubernetes/cmd/kubectl"
  go get "k8s.io/kubernetes/cmd/kubectl@v${KUBE_VERSION}" >/dev/null 2>&1 || true
  CGO_ENABLED=0 go build -trimpath -ldflags "${ldflags}" -o "${DEST}/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv "${DEST}/kubectl.tmp" "${DEST}/kubectl"
  log "kubectl built in $(( $(date +%s) - start ))s"
fi

log "envtest binaries ready in ${DEST}"
echo "${DEST}"
