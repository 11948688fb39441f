// Package install tests the ways Tollgate gets installed: the Helm chart
// (charts/tollgate), the kustomize tree (config/default) and the
// Dockerfiles. Charts are linted and rendered with the helm that `make helm`
// builds into bin/, and the rendered objects are applied to a real
// kube-apiserver (internal/testkit/testenv), so every object is one the API server
// accepts.
package install

import (
	"fmt"
	"os"
	"testing"

	"tollgate.dev/tollgate/internal/testkit/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop control plane:", err)
	}
	os.Exit(code)
}
