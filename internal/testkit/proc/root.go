package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Module is the Go module whose programs this package builds and runs.
const Module = "tollgate.dev/tollgate"

// ErrNoModule is returned when no go.mod of [Module] is found.
var ErrNoModule = errors.New("no go.mod of module " + Module)

// RepoRoot returns the directory of the go.mod of [Module]. It looks in the
// working directory and its parents first, so that a program run inside a
// checkout builds that checkout, and falls back to where this source file
// was compiled from, for a binary run from elsewhere.
func RepoRoot() (string, error) {
	if wd, err := os.Getwd(); err == nil {
		if root, err := FindRoot(wd); err == nil {
			return root, nil
		}
	}
	// runtime.Caller names the file as it was compiled: an absolute path,
	// unless built with -trimpath, when the check below fails.
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
		if data, err := os.ReadFile(filepath.Join(root, "go.mod")); err == nil && moduleOf(data) == Module {
			return root, nil
		}
	}
	return "", fmt.Errorf("%w in the working directory or its parents, nor where %s was compiled from", ErrNoModule, Module)
}

// FindRoot returns the directory of the go.mod of [Module], looking in dir
// and then its parents.
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
			return "", fmt.Errorf("%w in %s or its parents", ErrNoModule, abs)
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
