// Package sidecare2e tests the tollgate-sidecar binary end to end: the real
// binary, built once, started per test on loopback ports in front of the
// in-process mock provider, driven by the official OpenAI and Anthropic Go
// SDKs. The tests check what an SDK user sees, what the provider received,
// and what the sidecar's metrics and log lines say.
//
// When the tests run with -race, the binary is built with -race too, and a
// data race it reports fails the test that started it.
package sidecare2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

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
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sidecarBin = filepath.Join(dir, "tollgate-sidecar")
	args := []string{"build", "-o", sidecarBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./cmd/sidecar")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ./cmd/sidecar: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// repoRoot is the directory of go.mod, found by walking up from here.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test directory: run the tests inside the tollgate module")
		}
		dir = parent
	}
}
