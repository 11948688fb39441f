package llmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/provider"
	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// recorded is a real provider answer under pkg/provider/testdata/captures.
type recorded struct {
	Provider    string `json:"provider"`
	Path        string `json:"path"`
	RequestBody string `json:"request_body"`
	ContentType string `json:"content_type"`
	BodyFile    string `json:"body_file"`
	body        []byte
}

func loadRecorded(t *testing.T, name string) recorded {
	t.Helper()
	dir := filepath.Join("..", "provider", "testdata", "captures")
	raw, err := os.ReadFile(filepath.Join(dir, name+".json"))
	require.NoError(t, err)
	var r recorded
	require.NoError(t, json.Unmarshal(raw, &r))
	r.body, err = os.ReadFile(filepath.Join(dir, r.BodyFile))
	require.NoError(t, err)
	return r
}

var recordedTypes = map[string]proxyconfig.ProviderType{
	"openai": proxyconfig.OpenAI, "anthropic": proxyconfig.Anthropic, "gemini": proxyconfig.Gemini,
}

// observe returns an observedBody over src for the recorded answer r, and
// where its report goes.
func observe(t *testing.T, r recorded, src io.ReadCloser) (*observedBody, *finished) {
	t.Helper()
	adapter, err := provider.AdapterFor(recordedTypes[r.Provider])
	require.NoError(t, err)
	req, err := adapter.ParseRequest("POST", r.Path, []byte(r.RequestBody))
	require.NoError(t, err)
	got := &finished{end: "(not finished)"}
	return newObservedBody(src, observation{
		sse: wire.IsEventStream(r.ContentType), adapter: adapter, req: req,
		ctx: context.Background(), parent: context.Background(), start: time.Now(), status: 200,
		keep: true, length: -1, buffers: NewBufferBudget(1 << 20),
		onFinish: func(f finished) { *got = f },
	}), got
}

// byteByByte is src handing out at most n bytes per Read, as a slow network
// would.
type byteByByte struct {
	src io.Reader
	n   int
}

func (b byteByByte) Read(p []byte) (int, error) { return b.src.Read(p[:min(len(p), b.n)]) }

// countingWriter counts its Writes.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestObservedBody_WriteToHandsOutWhatReadDoesOneEventPerWrite(t *testing.T) {
	for _, name := range []string{"openai-chat-stream-include-usage", "anthropic-haiku45-stream-tools", "gemini-flashlite-stream", "openai-chat-basic", "anthropic-haiku45-sync"} {
		t.Run(name, func(t *testing.T) {
			r := loadRecorded(t, name)
			src := func() io.ReadCloser { return io.NopCloser(byteByByte{bytes.NewReader(r.body), 7}) }

			viaRead, readReport := observe(t, r, src())
			var read bytes.Buffer
			_, err := io.CopyBuffer(&read, struct{ io.Reader }{viaRead}, make([]byte, 64<<10))
			require.NoError(t, err)

			viaWriteTo, writeToReport := observe(t, r, src())
			var written countingWriter
			n, err := viaWriteTo.WriteTo(&written)
			require.NoError(t, err)

			assert.Equal(t, read.String(), written.String(), "the same bytes")
			assert.EqualValues(t, written.Len(), n)
			assert.Positive(t, writeToReport.ttft)
			readReport.ttft, writeToReport.ttft = 0, 0 // times differ
			assert.Equal(t, *readReport, *writeToReport, "the same report")
			assert.Equal(t, "complete", writeToReport.end)
			assert.True(t, writeToReport.usage.Known, "usage read")
			if wire.IsEventStream(r.ContentType) {
				events := 0
				// A line end split between two reads ("\r" then "\n") can
				// end an event early: count them as they arrived.
				for er := wire.NewEventReader(src()); ; events++ {
					if _, err := er.Next(); err != nil {
						break
					}
				}
				assert.Equal(t, events, written.writes, "one Write per event, however the bytes arrived")
			}
		})
	}
}

// cutAfter is src that fails with err after its first n bytes.
func cutAfter(src []byte, n int, err error) io.ReadCloser {
	return io.NopCloser(io.MultiReader(bytes.NewReader(src[:n]), errorReader{err}))
}

func TestObservedBody_WriteToReturnsWhatBrokeTheAnswerOff(t *testing.T) {
	r := loadRecorded(t, "openai-chat-stream-include-usage")
	broken := errors.New("connection reset by peer")

	b, report := observe(t, r, cutAfter(r.body, len(r.body)/2, broken))
	var out bytes.Buffer
	_, err := b.WriteTo(&out)
	require.ErrorIs(t, err, broken, "the provider broke off")
	assert.Equal(t, "upstream_error", report.end)
	assert.Positive(t, out.Len(), "the whole events before the cut went out")

	appGone := errors.New("broken pipe")
	b, report = observe(t, r, io.NopCloser(bytes.NewReader(r.body)))
	_, err = b.WriteTo(failingWriter{appGone})
	require.ErrorIs(t, err, appGone, "the app's own error, as it is")
	assert.Equal(t, "(not finished)", report.end, "the app going away is told by Close")
	require.NoError(t, b.Close())
	assert.Equal(t, "client_gone", report.end)
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
