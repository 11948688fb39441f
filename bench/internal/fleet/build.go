package fleet

import (
	"context"
	"fmt"

	"tollgate.dev/tollgate/internal/images"
	"tollgate.dev/tollgate/internal/testkit/proc"
)

// Module is the Go module the benchmark builds from.
const Module = proc.Module

// The packages of the programs the benchmark runs.
const (
	sidecarPackage    = "./cmd/sidecar"
	mockPackage       = "./cmd/mock-provider"
	plainProxyPackage = "./bench/cmd/plainproxy"
)

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
// go command on PATH, as the images' binaries are built (static, stripped,
// without build paths: images.BuildFlags), so that what is measured is
// what ships. The ReverseProxy and the mock are built the same way.
func Build(ctx context.Context, root, dir string) (Binaries, error) {
	bins, err := proc.BuildWith(ctx, root, dir, images.BuildFlags, images.BuildEnv, sidecarPackage, mockPackage, plainProxyPackage)
	if err != nil {
		return Binaries{}, err
	}
	return Binaries{Sidecar: bins[sidecarPackage], Mock: bins[mockPackage], PlainProxy: bins[plainProxyPackage]}, nil
}

// FindRoot returns the directory of the tollgate module's go.mod, looking
// in dir and then its parents.
func FindRoot(dir string) (string, error) {
	root, err := proc.FindRoot(dir)
	if err != nil {
		return "", fmt.Errorf("%w: run the benchmark from the repository, or pass -repo", err)
	}
	return root, nil
}
