package proc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// Build compiles the main packages pkgs (e.g. "./cmd/sidecar") of the
// module at root into dir with the go command on PATH, with the race
// detector when race is set. It returns the path of each package's binary,
// keyed by the package as given.
func Build(ctx context.Context, root, dir string, race bool, pkgs ...string) (map[string]string, error) {
	var flags []string
	if race {
		flags = []string{"-race"}
	}
	return BuildWith(ctx, root, dir, flags, nil, pkgs...)
}

// BuildWith compiles as [Build] does, with the go build flags given and
// the variables env added to the environment (e.g. CGO_ENABLED=0).
func BuildWith(ctx context.Context, root, dir string, flags, env []string, pkgs ...string) (map[string]string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("building %s needs the go command, which is not on PATH: %w", strings.Join(pkgs, " "), err)
	}
	// A trailing separator makes -o a directory, which go build creates,
	// even for a single package.
	args := append(append([]string{"build"}, flags...), "-o", dir+string(filepath.Separator))
	args = append(args, pkgs...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%sgo %s in %s: %w\n%s", envPrefix(env), strings.Join(args, " "), root, err, out.String())
	}
	bins := make(map[string]string, len(pkgs))
	for _, pkg := range pkgs {
		bins[pkg] = BinaryPath(dir, pkg)
	}
	return bins, nil
}

// BinaryPath is where `go build -o dir/` puts the binary of package pkg:
// dir, then the last element of the package path.
func BinaryPath(dir, pkg string) string {
	return filepath.Join(dir, path.Base(pkg))
}

// envPrefix is env as it would precede a command in a shell, for errors.
func envPrefix(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return strings.Join(env, " ") + " "
}
