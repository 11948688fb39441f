package images_test

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// hostPlatform is what the tests build for: linux on this machine's
// architecture, so that the binary taken out of an image runs here.
var hostPlatform = v1.Platform{OS: "linux", Architecture: runtime.GOARCH}

// workDir holds what the tests build; TestMain removes it.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "images-test-")
	if err != nil {
		panic(err)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// archive is an image archive hack/images wrote, as its output line has
// it and as it reads back.
type archive struct {
	name, path, ref, digest string
	// tags are the archive's RepoTags.
	tags   []string
	config *v1.ConfigFile
	// files are the layers' files by name, without a leading slash.
	files map[string]entry
}

// entry is a file of an image as its layers have it.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// The tests share two runs of hack/images, the program `make images` runs,
// built once without the race detector, which slows the compression of the
// binaries, most of a run, several times over (reading the archives back,
// in this process, takes about 4 times as long under -race as without).
var (
	runOnce sync.Once
	// firstRun and secondRun are the archives of the two runs, by program
	// name; only firstRun's are read back.
	firstRun, secondRun map[string]archive
	runErr              error
)

// archives returns what `make images` writes with its defaults (the
// Makefile's REGISTRY, the chart's appVersion, no SOURCE_DATE_EPOCH), run
// twice into two directories.
func archives(t *testing.T) (first, second map[string]archive) {
	t.Helper()
	chart := readChartDefaults(t)
	runOnce.Do(func() { runErr = runTwice(t, chart) })
	require.NoError(t, runErr)
	return firstRun, secondRun
}

func runTwice(t *testing.T, chart chartDefaults) error {
	root, err := proc.RepoRoot()
	if err != nil {
		return err
	}
	bins, err := proc.Build(t.Context(), root, filepath.Join(workDir, "bin"), false, "./hack/images")
	if err != nil {
		return err
	}
	run := func(out string) (map[string]archive, error) {
		cmd := exec.CommandContext(t.Context(), bins["./hack/images"],
			"-registry", chart.makeRegistry, "-tag", chart.appVersion, "-platform", hostPlatform.String(), "-out", out)
		cmd.Dir = root
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "SOURCE_DATE_EPOCH=") })
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("hack/images: %w\n%s", err, stderr.String())
		}
		got := map[string]archive{}
		for line := range strings.Lines(string(stdout)) {
			// path, ref, digest, size
			f := strings.Split(strings.TrimSpace(line), "\t")
			if len(f) != 4 {
				return nil, fmt.Errorf("hack/images printed %q, not path, ref, digest and size", line)
			}
			name := strings.TrimSuffix(filepath.Base(f[0]), ".tar")
			got[name] = archive{name: name, path: f[0], ref: f[1], digest: f[2]}
		}
		return got, nil
	}
	if firstRun, err = run(filepath.Join(workDir, "first")); err != nil {
		return err
	}
	if secondRun, err = run(filepath.Join(workDir, "second")); err != nil {
		return err
	}
	for name, a := range firstRun {
		if err := readArchive(&a); err != nil {
			return fmt.Errorf("read %s: %w", a.path, err)
		}
		firstRun[name] = a
	}
	return nil
}

// readArchive reads a.path back as kind, ctr and crane would: its tags,
// its image's config and every file of its layers.
func readArchive(a *archive) error {
	manifest, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(a.path) })
	if err != nil {
		return err
	}
	if len(manifest) != 1 {
		return fmt.Errorf("%d images in the archive, want one", len(manifest))
	}
	a.tags = manifest[0].RepoTags
	img, err := tarball.ImageFromPath(a.path, nil)
	if err != nil {
		return err
	}
	if a.config, err = img.ConfigFile(); err != nil {
		return err
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	a.files = map[string]entry{}
	for _, l := range layers {
		if err := readLayer(l, a.files); err != nil {
			return err
		}
	}
	return nil
}

func readLayer(l v1.Layer, files map[string]entry) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return err
		}
		files[strings.TrimPrefix(hdr.Name, "/")] = entry{hdr: hdr, data: data}
	}
}

// chartDefaults are the image names the Helm chart installs by default.
type chartDefaults struct {
	// repositories by program name, from values.yaml.
	repositories map[string]string
	// appVersion is Chart.yaml's, the default tag.
	appVersion string
	// makeRegistry is the Makefile's default REGISTRY.
	makeRegistry string
}

func readChartDefaults(t *testing.T) chartDefaults {
	t.Helper()
	root, err := proc.RepoRoot()
	require.NoError(t, err)
	read := func(rel string) []byte {
		data, err := os.ReadFile(filepath.Join(root, rel))
		require.NoError(t, err)
		return data
	}
	var values struct {
		Image   struct{ Repository string }
		Sidecar struct{ Image struct{ Repository string } }
	}
	require.NoError(t, yaml.Unmarshal(read("charts/tollgate/values.yaml"), &values))
	var chart struct{ AppVersion string }
	require.NoError(t, yaml.Unmarshal(read("charts/tollgate/Chart.yaml"), &chart))

	makefile := string(read("Makefile"))
	registry := regexp.MustCompile(`(?m)^REGISTRY \?= (\S+)$`).FindStringSubmatch(makefile)
	require.NotNil(t, registry, "no `REGISTRY ?= ...` line in the Makefile")
	tag := regexp.MustCompile(`(?m)^TAG \?= .*$`).FindString(makefile)
	require.Contains(t, tag, "appVersion", "the Makefile's default TAG is the chart's appVersion")
	require.Contains(t, tag, "charts/tollgate/Chart.yaml", "the Makefile's default TAG is the chart's appVersion")

	return chartDefaults{
		repositories: map[string]string{
			"tollgate-operator": values.Image.Repository,
			"tollgate-sidecar":  values.Sidecar.Image.Repository,
		},
		appVersion:   chart.AppVersion,
		makeRegistry: registry[1],
	}
}

// TestImages_RunNonRootTheirBinaryAloneOnAReadOnlyFilesystem checks what
// a pod needs of the images: a numeric non-root user (the operator's pod
// says only runAsNonRoot, so the kubelet checks the image's), the binary as
// the entrypoint, and nothing else in them: no shell, nothing the user can
// write. The pods mount the root filesystem read-only as well
// (readOnlyRootFilesystem: test/install/chart_test.go checks the chart's
// operator, internal/operator/inject's golden files the sidecar), so what
// a program writes goes to a volume: the sidecar's state emptyDir; the
// operator writes no files.
func TestImages_RunNonRootTheirBinaryAloneOnAReadOnlyFilesystem(t *testing.T) {
	wantFiles := map[string][]string{
		"tollgate-operator": {"tollgate-operator"},
		"tollgate-sidecar":  {"etc/", "etc/ssl/", "etc/ssl/certs/", "etc/ssl/certs/ca-certificates.crt", "tollgate-sidecar"},
	}
	built, _ := archives(t)
	require.Len(t, built, len(wantFiles))
	for name, a := range built {
		t.Run(name, func(t *testing.T) {
			cfg := a.config
			assert.Equal(t, hostPlatform.OS, cfg.OS)
			assert.Equal(t, hostPlatform.Architecture, cfg.Architecture)

			user, group, ok := strings.Cut(cfg.Config.User, ":")
			require.True(t, ok, "User %q is uid:gid", cfg.Config.User)
			for _, id := range []string{user, group} {
				n, err := strconv.Atoi(id)
				require.NoError(t, err, "User %q is numeric", cfg.Config.User)
				assert.NotZero(t, n, "User %q is not root", cfg.Config.User)
			}

			assert.Equal(t, []string{"/" + name}, cfg.Config.Entrypoint)
			assert.Empty(t, cfg.Config.Cmd)
			assert.Equal(t, "/", cfg.Config.WorkingDir)
			exe, ok := a.files[strings.TrimPrefix(cfg.Config.Entrypoint[0], "/")]
			require.True(t, ok, "the entrypoint %s is in the layers", cfg.Config.Entrypoint[0])
			assert.Equal(t, byte(tar.TypeReg), exe.hdr.Typeflag)
			assert.NotZero(t, exe.hdr.Mode&0o001, "the entrypoint is executable by any user")

			var names []string
			for file, f := range a.files {
				names = append(names, file)
				base := path.Base(strings.TrimSuffix(file, "/"))
				assert.NotContains(t, []string{"sh", "bash", "ash", "dash", "busybox"}, base, "no shell: %s", file)
				assert.Zero(t, f.hdr.Uid, "%s is root's", file)
				assert.Zero(t, f.hdr.Gid, "%s is root's", file)
				assert.Zero(t, f.hdr.Mode&0o022, "%s is writable by root alone", file)
			}
			assert.ElementsMatch(t, wantFiles[name], names)

			assert.Equal(t, map[string]string{
				"org.opencontainers.image.source":   "https://github.com/tollgate-dev/tollgate",
				"org.opencontainers.image.version":  readChartDefaults(t).appVersion,
				"org.opencontainers.image.title":    name,
				"org.opencontainers.image.licenses": "Apache-2.0",
			}, cfg.Config.Labels)
		})
	}
}

// TestImages_AreNamedAsTheChartInstallsThem: loaded into a cluster, the
// archives `make images` writes with its defaults are the images the chart
// runs by default.
func TestImages_AreNamedAsTheChartInstallsThem(t *testing.T) {
	chart := readChartDefaults(t)
	built, _ := archives(t)
	for name, a := range built {
		t.Run(name, func(t *testing.T) {
			want := chart.repositories[name] + ":" + chart.appVersion
			assert.Equal(t, want, a.ref)
			assert.Equal(t, []string{want}, a.tags)
		})
	}
}

func TestImages_BinaryTakenOutOfTheImageRuns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the images' binaries are linux binaries")
	}
	built, _ := archives(t)
	for name, a := range built {
		t.Run(name, func(t *testing.T) {
			exe := filepath.Join(t.TempDir(), name)
			require.NoError(t, os.WriteFile(exe, a.files[strings.TrimPrefix(a.config.Config.Entrypoint[0], "/")].data, 0o755))

			out, err := exec.CommandContext(t.Context(), exe, "--help").CombinedOutput()
			require.NoError(t, err, "%s --help:\n%s", name, out)
			assert.Contains(t, string(out), "Usage")
			assert.Contains(t, string(out), "-log-level", "%s --help lists its flags", name)
		})
	}
}

func TestImages_TwoBuildsGiveTheSameDigest(t *testing.T) {
	first, second := archives(t)
	require.Len(t, second, len(first))
	for name, a := range first {
		assert.Equal(t, a.digest, second[name].digest, name)
		assert.Equal(t, fileHash(t, a.path), fileHash(t, second[name].path), "%s: the archives are the same bytes", name)
		assert.Equal(t, time.Unix(0, 0).UTC(), a.config.Created.UTC(), "%s: without SOURCE_DATE_EPOCH the image is created at 1970-01-01", name)
	}
}

func fileHash(t *testing.T, file string) [sha256.Size]byte {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	return sha256.Sum256(data)
}

// TestImages_CranePushKeepsTheDigest pushes each archive as `crane push
// FILE IMAGE` does (crane.Load, then a push) to a registry on 127.0.0.1.
func TestImages_CranePushKeepsTheDigest(t *testing.T) {
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	built, _ := archives(t)
	for name, a := range built {
		t.Run(name, func(t *testing.T) {
			img, err := crane.Load(a.path)
			require.NoError(t, err)
			ref := host + "/tollgate-dev/" + name + ":test"
			require.NoError(t, crane.Push(img, ref))
			digest, err := crane.Digest(ref)
			require.NoError(t, err)
			assert.Equal(t, a.digest, digest)
		})
	}
}

func TestImages_SidecarHasThePublicCARoots(t *testing.T) {
	built, _ := archives(t)
	rest := built["tollgate-sidecar"].files["etc/ssl/certs/ca-certificates.crt"].data
	certs := 0
	for len(bytes.TrimSpace(rest)) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		require.NotNil(t, block, "the bundle is PEM throughout")
		require.Equal(t, "CERTIFICATE", block.Type)
		cert, err := x509.ParseCertificate(block.Bytes)
		require.NoError(t, err)
		assert.True(t, cert.IsCA, "%s is a CA", cert.Subject)
		certs++
	}
	assert.Greater(t, certs, 100, "the NSS roots")
}
