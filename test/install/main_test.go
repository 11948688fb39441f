// Package install tests the ways Tollgate gets installed: the Helm chart
// (charts/tollgate) and the kustomize tree (config/default); the images
// are tested where they are built, in internal/images. Charts are linted and rendered with the helm that `make helm`
// builds into bin/, and the rendered objects are applied to a real
// kube-apiserver (internal/testkit/testenv), so every object is one the API server
// accepts.
package install

import (
	"testing"

	"tollgate.dev/tollgate/internal/testkit/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }
