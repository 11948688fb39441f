package fleet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the Go module the benchmark builds from.
const Module = "tollgate.dev/tollgate"

// Binaries are the paths of the built programs.
type Binaries struct {
	// Sidecar is cmd/sidecar.
	Sidecar string
	// Mock is cmd/mock-provider.
	Mock string
	// PlainProxy is bench/cmd/plainproxy.
	PlainProxy string
}

// Build compiles the programs of the repository at root into dir with the
// go command on PATH, as a release build would (no race detector).
func Build(ctx context.Context, root, dir string) (Binaries, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return Binaries{}, fmt.Errorf("the benchmark builds the sidecar with the go command, which is not on PATH: %w", err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"./cmd/sidecar", "./cmd/mock-provider", "./bench/cmd/plainproxy")
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return Binaries{}, fmt.Errorf("go build in %s: %w\n%s", root, err, out.String())
	}
	return Binaries{
		Sidecar:    filepath.Join(dir, "sidecar"),
		Mock:       filepath.Join(dir, "mock-provider"),
		PlainProxy: filepath.Join(dir, "plainproxy"),
	}, nil
}

// FindRoot returns the directory of the tollgate module's go.mod, looking
// in dir and then its parents.
func FindRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := abs; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && moduleOf(data) == Module {
			return d, nil
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("read %s: %w", filepath.Join(d, "go.mod"), err)
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod of module %s in %s or its parents: run the benchmark from the repository, or pass -repo", Module, abs)
		}
	}
}

// moduleOf returns the module path a go.mod declares.
func moduleOf(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
