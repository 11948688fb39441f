package images_test

import (
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/images"
)

func TestImage_CreatedTimeIsTheImagesAndItsFiles(t *testing.T) {
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	opts := images.Options{Tag: "1", Platform: hostPlatform, Created: created}
	img, err := images.Image(images.Programs[1], []byte("not a binary"), opts)
	require.NoError(t, err)
	cfg, err := img.ConfigFile()
	require.NoError(t, err)
	assert.Equal(t, created, cfg.Created.UTC())
	layers, err := img.Layers()
	require.NoError(t, err)
	require.Len(t, layers, 1)
	files := map[string]entry{}
	require.NoError(t, readLayer(layers[0], files))
	require.NotEmpty(t, files)
	for name, f := range files {
		assert.Equal(t, created, f.hdr.ModTime.UTC(), name)
	}

	opts.Created = created.Add(time.Second)
	later, err := images.Image(images.Programs[1], []byte("not a binary"), opts)
	require.NoError(t, err)
	d1, err := img.Digest()
	require.NoError(t, err)
	d2, err := later.Digest()
	require.NoError(t, err)
	assert.NotEqual(t, d1, d2, "the created time is part of the image")
}

func TestSourceDateEpoch(t *testing.T) {
	tests := map[string]struct {
		value   string
		want    time.Time
		wantErr bool
	}{
		"unset is 1970":          {value: "", want: time.Unix(0, 0).UTC()},
		"seconds since 1970":     {value: "1764590607", want: time.Unix(1764590607, 0).UTC()},
		"not a number":           {value: "yesterday", wantErr: true},
		"before 1970 is refused": {value: "-1", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := images.SourceDateEpoch(tc.value)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestWrite_RefusesAPlatformItCannotBuild(t *testing.T) {
	for _, p := range []v1.Platform{{OS: "windows", Architecture: "amd64"}, {OS: "linux", Architecture: "arm", Variant: "v7"}, {OS: "linux"}} {
		_, err := images.Write(images.Options{Registry: "example.com/x", Tag: "1", Platform: p, OutDir: t.TempDir()}, nil)
		assert.ErrorIs(t, err, images.ErrPlatform, p.String())
	}
}
