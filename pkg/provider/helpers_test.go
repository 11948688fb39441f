package provider

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// testdata reads a file under testdata/.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// sseCaptures lists every recorded stream under testdata/, as names
// testdata takes.
func sseCaptures(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "*.sse"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	for i, p := range paths {
		paths[i] = strings.TrimPrefix(filepath.ToSlash(p), "testdata/")
	}
	return paths
}

// adapterFor is AdapterFor for a type that must exist.
func adapterFor(t testing.TB, pt proxyconfig.ProviderType) Adapter {
	t.Helper()
	a, err := AdapterFor(pt)
	require.NoError(t, err)
	return a
}

// readAll reads every event of stream, copying the slices that alias the
// reader's buffer.
func readAll(t testing.TB, r io.Reader) []wire.Event {
	t.Helper()
	er := wire.NewEventReader(r)
	var evs []wire.Event
	for {
		ev, err := er.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		require.NoError(t, err)
		evs = append(evs, copyEvent(ev))
	}
}

func copyEvent(ev wire.Event) wire.Event {
	return wire.Event{Raw: bytes.Clone(ev.Raw), Name: ev.Name, Data: bytes.Clone(ev.Data)}
}
