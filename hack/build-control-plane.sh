#!/usr/bin/env bash
# build-control-plane.sh builds kube-apiserver and etcd from the Go module proxy
# into bin/k8s/<version>/ so envtest can run a real control plane without
# downloading release binaries (this project's CI has no internet beyond the
# module proxy). The result is cached: a second run with the same versions is a
# no-op, so only the first run pays for the build (several minutes on 2 cores).
#
# Usage: hack/build-control-plane.sh [KUBE_VERSION] [ETCD_VERSION]
# Prints the assets directory (suitable for KUBEBUILDER_ASSETS) on stdout;
# progress goes to stderr.
set -euo pipefail

KUBE_VERSION="${1:-${KUBE_VERSION:-v1.37.2}}"
ETCD_VERSION="${2:-${ETCD_VERSION:-v3.6.16}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="${ROOT}/bin/k8s/${KUBE_VERSION}-etcd-${ETCD_VERSION}"
STAGING_VERSION="v0.${KUBE_VERSION#v1.}"

log() { printf '[control-plane] %s\n' "$*" >&2; }

# A cached build is reused only if it reports its real version: builds from
# before the version was stamped say v0.0.0-master, which breaks helm and
# `kubectl version`, and are rebuilt.
if [[ -x "${ASSETS}/kube-apiserver" && -x "${ASSETS}/kubectl" && -x "${ASSETS}/etcd" ]] &&
  [[ "$("${ASSETS}/kube-apiserver" --version 2>/dev/null)" == "Kubernetes ${KUBE_VERSION}" ]]; then
  log "cached: ${ASSETS}"
  echo "${ASSETS}"
  exit 0
fi

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${ASSETS}"

# kube-apiserver: k8s.io/kubernetes refers to its staging modules as v0.0.0
# with local replace directives, which do not apply to a dependent module, so
# every staging module it requires is replaced by its published twin.
log "resolving k8s.io/kubernetes ${KUBE_VERSION} (staging modules at ${STAGING_VERSION})"
mkdir -p "${work}/apiserver"
cd "${work}/apiserver"
go mod init tollgate.dev/hack/kube-apiserver >/dev/null 2>&1
gomod="$(go mod download -json "k8s.io/kubernetes@${KUBE_VERSION}" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
for m in $(awk '/^\tk8s\.io\/[a-z-]+ v0\.0\.0$/ {print $1}' "${gomod}"); do
  go mod edit -replace "${m}=${m}@${STAGING_VERSION}"
done
go mod edit -require "k8s.io/kubernetes@${KUBE_VERSION}"
cat > main.go <<'GO'
package main

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
# Build the upstream main package directly; the blank import above only makes
# `go mod tidy` record its dependencies.
go mod tidy >&2
# Stamp the release version, as the Kubernetes release build does (it reads
# it from git, which a module download has not): the server then reports
# v1.37.2 in /version rather than v0.0.0-master.
minor="${KUBE_VERSION#v1.}"
minor="${minor%%.*}"
stamp=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  stamp+=" -X ${pkg}.gitVersion=${KUBE_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
  stamp+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done
ldflags="-s -w${stamp}"
log "building kube-apiserver ${KUBE_VERSION} (first time only; takes several minutes)"
start=$(date +%s)
go build -trimpath -ldflags="${ldflags}" -o "${ASSETS}/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "${ASSETS}/kube-apiserver.tmp" "${ASSETS}/kube-apiserver"
log "kube-apiserver built in $(( $(date +%s) - start ))s"
# kubectl from the same module graph, so tests drive the server with a client
# of the same version whatever kubectl the machine has.
log "building kubectl ${KUBE_VERSION}"
start=$(date +%s)
go build -trimpath -ldflags="${ldflags}" -o "${ASSETS}/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
mv "${ASSETS}/kubectl.tmp" "${ASSETS}/kubectl"
log "kubectl built in $(( $(date +%s) - start ))s"

if [[ -x "${ASSETS}/etcd" ]]; then
  log "etcd cached"
else
  log "building etcd ${ETCD_VERSION}"
  mkdir -p "${work}/etcd"
  cd "${work}/etcd"
  go mod init tollgate.dev/hack/etcd >/dev/null 2>&1
  cat > main.go <<'GO'
// Command etcd is the etcd server, built from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2
  go mod tidy >&2
  start=$(date +%s)
  go build -trimpath -ldflags='-s -w' -o "${ASSETS}/etcd.tmp" .
  mv "${ASSETS}/etcd.tmp" "${ASSETS}/etcd"
  log "etcd built in $(( $(date +%s) - start ))s"
fi

echo "${ASSETS}"
