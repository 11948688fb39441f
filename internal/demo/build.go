package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Binaries the demo runs, as `go build` names them after their package.
const (
	operatorBinary = "operator"
	sidecarBinary  = "sidecar"
)

// binaries are the paths of the programs the demo runs.
type binaries struct {
	operator, sidecar string
}

// findBinaries returns the binaries in dir, or builds them into work when
// dir is empty.
func findBinaries(ctx context.Context, dir, work, root string, race bool) (binaries, error) {
	if dir == "" {
		dir = filepath.Join(work, "bin")
		if err := build(ctx, root, dir, race); err != nil {
			return binaries{}, err
		}
	}
	b := binaries{operator: filepath.Join(dir, operatorBinary), sidecar: filepath.Join(dir, sidecarBinary)}
	for _, path := range []string{b.operator, b.sidecar} {
		if _, err := os.Stat(path); err != nil {
			return binaries{}, fmt.Errorf("no %s binary: %w; build it with `go build -o %s/ ./cmd/operator ./cmd/sidecar`, or leave Options.BinDir empty", filepath.Base(path), err, dir)
		}
	}
	return b, nil
}

// build compiles cmd/operator and cmd/sidecar into dir.
func build(ctx context.Context, root, dir string, race bool) error {
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/"+operatorBinary, "./cmd/"+sidecarBinary)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// repoRoot is the directory holding go.mod, found from this source file:
// the demo runs from a checkout (`make demo`, `go test`).
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the repository root: run the demo from a checkout with `make demo`")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	if !fileExists(filepath.Join(root, "go.mod")) {
		return "", fmt.Errorf("no go.mod in %s: run the demo from a checkout with `make demo`", root)
	}
	return root, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
