package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// The packages of the programs the demo runs.
const (
	operatorPackage = "./cmd/operator"
	sidecarPackage  = "./cmd/sidecar"
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
		if _, err := proc.Build(ctx, root, dir, race, operatorPackage, sidecarPackage); err != nil {
			return binaries{}, err
		}
	}
	b := binaries{operator: proc.BinaryPath(dir, operatorPackage), sidecar: proc.BinaryPath(dir, sidecarPackage)}
	for _, path := range []string{b.operator, b.sidecar} {
		if _, err := os.Stat(path); err != nil {
			return binaries{}, fmt.Errorf("no %s binary: %w; build it with `go build -o %s/ %s %s`, or leave Options.BinDir empty", filepath.Base(path), err, dir, operatorPackage, sidecarPackage)
		}
	}
	return b, nil
}

// repoRoot is the checkout the demo builds from and reads its manifests
// in: the demo runs from one (`make demo`, `go test`).
func repoRoot() (string, error) {
	root, err := proc.RepoRoot()
	if err != nil {
		return "", fmt.Errorf("%w: run the demo from a checkout with `make demo`", err)
	}
	return root, nil
}
