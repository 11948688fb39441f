package images

import (
	"archive/tar"
	"bytes"
	"encoding/pem"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/x509roots/fallback/bundle"
)

// caBundlePath is where the public CA roots go: the first file Go's
// crypto/x509 (and Debian's OpenSSL) reads for them on Linux.
const caBundlePath = "etc/ssl/certs/ca-certificates.crt"

// Image is p's image for opts.Platform: exe at /<p.Name> as its
// entrypoint, the CA roots if p wants them, on an empty base. A zero
// opts.Created is 1970-01-01T00:00:00Z.
func Image(p Program, exe []byte, opts Options) (v1.Image, error) {
	if err := checkPlatform(opts.Platform); err != nil {
		return nil, err
	}
	if opts.Created.IsZero() {
		opts.Created = time.Unix(0, 0).UTC()
	}
	files := []file{{path: p.Name, mode: 0o555, data: exe}}
	if p.CACertificates {
		files = append(files, file{path: caBundlePath, mode: 0o444, data: caBundle()})
	}
	layer, err := newLayer(files, opts.Created)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: opts.Created}
	img, err := mutate.Append(empty.Image, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: created, CreatedBy: "tollgate internal/images", Comment: p.Package},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = opts.Platform.OS, opts.Platform.Architecture
	cfg.Created = created
	cfg.Config = v1.Config{
		Entrypoint: []string{"/" + p.Name},
		User:       User,
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.source":   Source,
			"org.opencontainers.image.version":  opts.Tag,
			"org.opencontainers.image.title":    p.Name,
			"org.opencontainers.image.licenses": Licenses,
		},
	}
	return mutate.ConfigFile(img, cfg)
}

// file is a regular file of a layer; path has no leading slash.
type file struct {
	path string
	mode int64
	data []byte
}

// newLayer is a gzip layer of files and their parent directories, owned by
// root, each with mtime as its time, in name order so that the same files
// give the same digest. It writes the tar stream go-containerregistry
// builds a layer from; the library has no helper that sets modes.
func newLayer(files []file, mtime time.Time) (v1.Layer, error) {
	mtime = mtime.Truncate(time.Second)
	dirs := map[string]bool{}
	for _, f := range files {
		for d := path.Dir(f.path); d != "."; d = path.Dir(d) {
			dirs[d+"/"] = true
		}
	}
	type entry struct {
		hdr  *tar.Header
		data []byte
	}
	var entries []entry
	for d := range dirs {
		entries = append(entries, entry{hdr: &tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755}})
	}
	for _, f := range files {
		entries = append(entries, entry{hdr: &tar.Header{Typeflag: tar.TypeReg, Name: f.path, Mode: f.mode, Size: int64(len(f.data))}, data: f.data})
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.hdr.Name, b.hdr.Name) })

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		e.hdr.ModTime = mtime
		if err := tw.WriteHeader(e.hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithCompressedCaching)
}

// caBundle is a PEM file of the roots Mozilla's NSS trusts for TLS
// servers, from golang.org/x/crypto/x509roots/fallback: pinned in go.mod
// and go.sum, so every build machine puts the same roots in, and brought up
// to date with `go get -u golang.org/x/crypto/x509roots/fallback`. Roots
// with a constraint (a distrust-after date) are left out: a PEM file cannot
// carry the constraint, and trusting such a root without it would trust
// more than NSS does.
func caBundle() []byte {
	var buf bytes.Buffer
	for root := range bundle.Roots() {
		if root.Constraint != nil {
			continue
		}
		// Writing to a bytes.Buffer does not fail.
		_ = pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: root.Certificate})
	}
	return buf.Bytes()
}
