#!/usr/bin/env bash
# install-helm.sh builds helm from its Go module into bin/helm-<version> so the
# chart tests (test/install) can lint and render charts/tollgate without
# downloading a release binary (this project's CI has no internet beyond the
# Go module proxy). The result is cached: a second run is a no-op, so only the
# first run pays for the build (a few minutes on 2 cores).
#
# Usage: hack/install-helm.sh [HELM_VERSION]
# Prints the path of the helm binary on stdout; progress goes to stderr.
set -euo pipefail

HELM_VERSION="${1:-${HELM_VERSION:-v3.22.0}}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HELM="${ROOT}/bin/helm-${HELM_VERSION}"

log() { printf '[helm] %s\n' "$*" >&2; }

if [[ -x "${HELM}" ]]; then
  log "cached: ${HELM}"
  echo "${HELM}"
  exit 0
fi

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mkdir -p "${ROOT}/bin"

# helm's own Makefile stamps its version and the Kubernetes version that
# `helm template` and `helm lint` assume (from its client-go) via -ldflags;
# without them that default is v1.20.0 and charts needing a newer
# kubeVersion fail to render. Read client-go's version from helm's go.mod.
cd "${work}"
gomod="$(go mod download -json "helm.sh/helm/v3@${HELM_VERSION}" | sed -n 's/^\s*"GoMod": "\(.*\)",\?$/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" {print $2; exit}' "${gomod}")"
if [[ ! "${client_go}" =~ ^v0\.([0-9]+)\. ]]; then
  log "cannot read the k8s.io/client-go version from ${gomod}"
  exit 1
fi
kube_minor="${BASH_REMATCH[1]}"
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  ldflags+=" -X ${pkg}.k8sVersionMajor=1 -X ${pkg}.k8sVersionMinor=${kube_minor}"
done

log "building helm ${HELM_VERSION} (Kubernetes 1.${kube_minor}) from helm.sh/helm/v3 (first time only; takes a few minutes)"
start=$(date +%s)
# go install pkg@version ignores our go.mod: helm's module graph never touches it.
GOBIN="${work}/bin" go install -trimpath -ldflags="${ldflags}" "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
mv "${work}/bin/helm" "${HELM}.tmp"
mv "${HELM}.tmp" "${HELM}"
log "helm ${HELM_VERSION} built in $(( $(date +%s) - start ))s: ${HELM}"
echo "${HELM}"
