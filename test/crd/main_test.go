// Package crd tests the LLMPolicy CRD against a real kube-apiserver: that it
// installs, that valid policies are accepted and defaulted, that invalid ones
// are rejected with messages naming the field and the fix, and that the Go
// validator used by the standalone sidecar agrees with the API server.
package crd

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
