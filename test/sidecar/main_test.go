// Package sidecare2e tests the tollgate-sidecar binary end to end: the real
// binary, built once, started per test on loopback ports in front of the
// in-process mock provider (or a replay of real recorded answers), driven
// by the official OpenAI and Anthropic Go SDKs or plain HTTP. The tests check what an SDK user sees, what the provider received,
// and what the sidecar's metrics and log lines say.
//
// When the tests run with -race, the binary is built with -race too, and a
// data race it reports fails the test that started it.
package sidecare2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// sidecarPackage is the package of the binary under test.
const sidecarPackage = "./cmd/sidecar"

// sidecarBin is the tollgate-sidecar binary TestMain built.
var sidecarBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tollgate-sidecar-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make a directory for the sidecar binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	root, err := proc.RepoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v: run the tests inside the tollgate module\n", err)
		return 1
	}
	bins, err := proc.Build(context.Background(), root, dir, proc.RaceEnabled, sidecarPackage)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sidecarBin = bins[sidecarPackage]
	return m.Run()
}
