package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Program is one of Tollgate's programs and what its image holds.
type Program struct {
	// Name is the name of the binary, at /<Name> in the image, and of the
	// image: <registry>/<Name>.
	Name string
	// Package is the program's main package, relative to the module root.
	Package string
	// CACertificates adds the public CA roots (see caBundlePath), for a
	// program that calls HTTPS endpoints outside the cluster.
	CACertificates bool
}

// Programs are the programs that ship as images. The operator talks only
// to the API server, whose CA comes with the service account's token, so
// it needs no CA roots; the sidecar calls the LLM providers over HTTPS.
var Programs = []Program{
	{Name: "tollgate-operator", Package: "./cmd/operator"},
	{Name: "tollgate-sidecar", Package: "./cmd/sidecar", CACertificates: true},
}

// User is the numeric user and group the images run as: not root, and
// numeric so that a pod's runAsNonRoot can check it without a passwd file.
// It is the UID distroless calls nonroot, which the injected sidecar's
// runAsUser also names (inject.SidecarUser).
const User = "65532:65532"

// The images' OCI labels that do not change between builds.
const (
	Source   = "https://github.com/tollgate-dev/tollgate"
	Licenses = "Apache-2.0"
)

// Options say which images to build and where to write them.
type Options struct {
	// Root is the directory of the module's go.mod.
	Root string
	// Registry is what the image names start with, e.g.
	// ghcr.io/tollgate-dev: a program's image is <Registry>/<Name>:<Tag>.
	Registry string
	// Tag is the images' tag and their org.opencontainers.image.version.
	Tag string
	// Platform is the one platform the images are built for: linux and an
	// architecture, e.g. linux/arm64, without a variant.
	Platform v1.Platform
	// Created is the images' created time and the time of every file in
	// them; keep it fixed (e.g. the commit's time) to rebuild the same
	// digests.
	Created time.Time
	// OutDir is where the archives go: <OutDir>/<Name>.tar.
	OutDir string
}

// Archive is an image written by [Write].
type Archive struct {
	Program Program
	// Path is the archive's file.
	Path string
	// Ref is the image's name and tag in the archive.
	Ref name.Tag
	// Digest is the image's manifest digest, which a registry reports
	// after `crane push` of the archive.
	Digest v1.Hash
	// Size is the archive's size in bytes.
	Size int64
}

// Binaries are the files [Compile] built, keyed by [Program.Name].
type Binaries map[string]string

// ErrPlatform is returned for a platform the images cannot be built for.
var ErrPlatform = errors.New("images are built for one linux/<arch> platform")

// Build compiles [Programs] into a temporary directory and writes their
// images: what `make images` does.
func Build(ctx context.Context, opts Options) ([]Archive, error) {
	dir, err := os.MkdirTemp("", "tollgate-images-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bins, err := Compile(ctx, opts.Root, dir, opts.Platform)
	if err != nil {
		return nil, err
	}
	return Write(opts, bins)
}

// Write builds the image of each of [Programs] from its binary in bins
// and writes it to opts.OutDir.
func Write(opts Options, bins Binaries) ([]Archive, error) {
	if opts.Registry == "" || opts.Tag == "" {
		return nil, errors.New("images need a registry and a tag to be named after, e.g. ghcr.io/tollgate-dev and 0.1.0")
	}
	if err := checkPlatform(opts.Platform); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, err
	}
	archives := make([]Archive, 0, len(Programs))
	for _, p := range Programs {
		a, err := write(opts, p, bins[p.Name])
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", p.Name, err)
		}
		archives = append(archives, a)
	}
	return archives, nil
}

func write(opts Options, p Program, binary string) (Archive, error) {
	ref, err := Ref(opts.Registry, p, opts.Tag)
	if err != nil {
		return Archive{}, err
	}
	if binary == "" {
		return Archive{}, errors.New("no binary built")
	}
	exe, err := os.ReadFile(binary)
	if err != nil {
		return Archive{}, err
	}
	img, err := Image(p, exe, opts)
	if err != nil {
		return Archive{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Archive{}, err
	}
	path := filepath.Join(opts.OutDir, p.Name+".tar")
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		return Archive{}, fmt.Errorf("write %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return Archive{}, err
	}
	return Archive{Program: p, Path: path, Ref: ref, Digest: digest, Size: info.Size()}, nil
}

// Ref is the name and tag of p's image: <registry>/<p.Name>:<tag>.
func Ref(registry string, p Program, tag string) (name.Tag, error) {
	ref, err := name.NewTag(registry + "/" + p.Name + ":" + tag)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image name from registry %q and tag %q: %w", registry, tag, err)
	}
	return ref, nil
}

// SourceDateEpoch is the created time that the reproducible-builds
// convention's SOURCE_DATE_EPOCH (seconds since 1970, UTC) names. Unset, it
// is 1970-01-01T00:00:00Z rather than the time of the build, which would
// give every build another digest.
func SourceDateEpoch(value string) (time.Time, error) {
	if value == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(value, 10, 64)
	if err != nil || sec < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want whole seconds since 1970, e.g. $(git log -1 --format=%%ct)", value)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func checkPlatform(p v1.Platform) error {
	if p.OS != "linux" || p.Architecture == "" || p.Variant != "" || p.OSVersion != "" || len(p.OSFeatures) > 0 || len(p.Features) > 0 {
		return fmt.Errorf("%w, e.g. linux/amd64, not %q", ErrPlatform, p.String())
	}
	return nil
}
