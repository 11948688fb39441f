package images

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BuildFlags and BuildEnv are how the images' binaries are built (see
// [Compile]): the benchmark builds what it measures the same way, so that
// its figures are those of the binaries that ship.
var (
	BuildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w"}
	BuildEnv   = []string{"CGO_ENABLED=0"}
)

// Compile builds [Programs] of the module at root for platform into dir,
// with the go command on PATH: static (CGO_ENABLED=0, for an image without
// a libc), without build paths (-trimpath) or a VCS stamp (-buildvcs=false,
// so that the binary, and the image's digest, depend on the sources and
// the Go version only, whatever the state of the work tree), and stripped
// (-ldflags "-s -w"). The programs have no version variable to stamp: the
// image's org.opencontainers.image.version label carries the version.
func Compile(ctx context.Context, root, dir string, platform v1.Platform) (Binaries, error) {
	if err := checkPlatform(platform); err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("building the images' binaries needs the go command, which is not on PATH: %w", err)
	}
	// A trailing separator makes -o a directory, for several packages.
	args := append(append([]string{"build"}, BuildFlags...), "-o", dir+string(filepath.Separator))
	for _, p := range Programs {
		args = append(args, p.Package)
	}
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	cmd.Env = append(append(os.Environ(), BuildEnv...), "GOOS="+platform.OS, "GOARCH="+platform.Architecture)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("GOOS=%s GOARCH=%s go %s in %s: %w\n%s", platform.OS, platform.Architecture, strings.Join(args, " "), root, err, out.String())
	}
	bins := make(Binaries, len(Programs))
	for _, p := range Programs {
		// go build -o dir/ names a binary after its package's last element.
		bins[p.Name] = filepath.Join(dir, path.Base(p.Package))
	}
	return bins, nil
}
