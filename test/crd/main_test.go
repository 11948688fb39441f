// Package crd tests the LLMPolicy CRD against a real kube-apiserver: that it
// installs, that valid policies are accepted and defaulted, that invalid ones
// are rejected with messages naming the field and the fix, and that the Go
// validator used by the standalone sidecar agrees with the API server.
package crd

import (
	"testing"

	"tollgate.dev/tollgate/internal/testkit/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }
