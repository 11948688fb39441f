package operator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteCertFiles_WritesTheRotatorsCertificateOnceComplete(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "serving-certs") // does not exist yet
	full := map[string][]byte{"ca.crt": []byte("CA"), "ca.key": []byte("CA KEY"), "tls.crt": []byte("CERT"), "tls.key": []byte("KEY")}

	changed, err := writeCertFiles(dir, map[string][]byte{"ca.crt": []byte("CA")})
	require.NoError(t, err)
	assert.False(t, changed, "nothing is written before the rotator filled the Secret")
	assert.NoDirExists(t, dir)

	changed, err = writeCertFiles(dir, full)
	require.NoError(t, err)
	assert.True(t, changed)
	for name, want := range map[string]string{"ca.crt": "CA", "tls.crt": "CERT", "tls.key": "KEY"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), name)
	}
	assert.NoFileExists(t, filepath.Join(dir, "ca.key"), "the CA's key stays in the Secret")
	fi, err := os.Stat(filepath.Join(dir, "tls.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 3, "no temporary file is left behind")

	changed, err = writeCertFiles(dir, full)
	require.NoError(t, err)
	assert.False(t, changed, "an unchanged Secret rewrites nothing (the servers would reload)")

	full["tls.crt"], full["tls.key"] = []byte("ROTATED CERT"), []byte("ROTATED KEY")
	changed, err = writeCertFiles(dir, full)
	require.NoError(t, err)
	assert.True(t, changed, "a rotation is written out")
	got, _ := os.ReadFile(filepath.Join(dir, "tls.crt"))
	assert.Equal(t, "ROTATED CERT", string(got))
}

func TestKubeletVolume_IsRecognisedByItsDataSymlink(t *testing.T) {
	plain := t.TempDir()
	assert.False(t, kubeletVolume(plain))
	assert.False(t, kubeletVolume(filepath.Join(plain, "missing")))

	volume := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(volume, "..2026_11_23_10_00_00.123"), 0o755))
	require.NoError(t, os.Symlink("..2026_11_23_10_00_00.123", filepath.Join(volume, "..data")))
	assert.True(t, kubeletVolume(volume))
}
