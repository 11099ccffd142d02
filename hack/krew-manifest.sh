#!/usr/bin/env bash
# Builds the kubectl-vantage release archives and the krew Plugin manifest
# that points at them, for a GitHub release VERSION (such as v0.1.0):
#   dist/kubectl-vantage_<os>_<arch>.tar.gz   (upload these to the release)
#   dist/krew/vantage.yaml                    (submit to a krew index)
# The archives are reproducible (sorted, zero mtimes and owners, gzip -n),
# so the sha256 in the manifest matches a rebuild of the same commit.
set -euo pipefail

VERSION="${VERSION:?set VERSION, such as v0.1.0}"
case "$VERSION" in v[0-9]*) ;; *) echo "VERSION must look like v0.1.0, not $VERSION" >&2; exit 1 ;; esac
REPO="${REPO:-omnivector-solutions/vantage-credential-operator}"
PLATFORMS="${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dist="$root/dist"
mkdir -p "$dist/krew"

platforms_yaml=""
for p in $PLATFORMS; do
  os="${p%/*}" arch="${p#*/}"
  bin=kubectl-vantage
  [ "$os" = windows ] && bin=kubectl-vantage.exe
  stage="$(mktemp -d)"
  CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -C "$root" -trimpath -ldflags="-s -w" -o "$stage/$bin" ./cmd/kubectl-vantage
  archive="kubectl-vantage_${os}_${arch}.tar.gz"
  tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$bin" | gzip -n >"$dist/$archive"
  rm -rf "$stage"
  sum="$(sha256sum "$dist/$archive" | cut -d' ' -f1)"
  echo "built dist/$archive ($sum)"
  platforms_yaml+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: https://github.com/$REPO/releases/download/$VERSION/$archive
    sha256: $sum
    bin: $bin
    files:
    - from: $bin
      to: .
"
done

sed -e "s|@VERSION@|$VERSION|g" -e "s|@REPO@|$REPO|g" "$root/hack/krew/vantage.yaml.in" >"$dist/krew/vantage.yaml"
printf '%s' "$platforms_yaml" >>"$dist/krew/vantage.yaml"
echo "wrote dist/krew/vantage.yaml ($VERSION)"
