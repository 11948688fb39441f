package wire

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// testdata reads a recorded provider answer: the captures live with the
// provider adapters that read them.
func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "provider", "testdata", name))
	require.NoError(t, err)
	return b
}

// captures lists the recorded provider answers matching pattern in every
// provider's directory, as names testdata takes.
func captures(t testing.TB, pattern string) []string {
	t.Helper()
	root := filepath.Join("..", "provider", "testdata")
	paths, err := filepath.Glob(filepath.Join(root, "*", pattern))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no captures %s under %s", pattern, root)
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i], err = filepath.Rel(root, p)
		require.NoError(t, err)
	}
	return names
}

// readAll reads every event of stream, copying the slices that alias the
// reader's buffer.
func readAll(t testing.TB, r io.Reader) []Event {
	t.Helper()
	er := NewEventReader(r)
	var evs []Event
	for {
		ev, err := er.Next()
		if errors.Is(err, io.EOF) {
			return evs
		}
		require.NoError(t, err)
		evs = append(evs, copyEvent(ev))
	}
}

func copyEvent(ev Event) Event {
	return Event{Raw: bytes.Clone(ev.Raw), Name: ev.Name, Data: bytes.Clone(ev.Data)}
}

// chunkReader returns its input at most n bytes per Read, the way a
// network connection may split a stream anywhere.
type chunkReader struct {
	data  []byte
	n     int
	reads int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.reads++
	k := min(c.n, len(p), len(c.data))
	copy(p, c.data[:k])
	c.data = c.data[k:]
	return k, nil
}

// scriptedReader returns one chunk per Read, then io.EOF, counting reads.
type scriptedReader struct {
	chunks []string
	reads  int
}

func (s *scriptedReader) Read(p []byte) (int, error) {
	if s.reads >= len(s.chunks) {
		return 0, io.EOF
	}
	c := s.chunks[s.reads]
	s.reads++
	return copy(p, c), nil
}
