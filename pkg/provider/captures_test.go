package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/proxyconfig"
	"tollgate.dev/tollgate/pkg/wire"
)

// capture is a real provider answer under testdata/captures (see its
// README): the request that got it, and the usage the answer itself states.
type capture struct {
	Name            string `json:"name"`
	Provider        string `json:"provider"`
	Method          string `json:"method"`
	Path            string `json:"path"`
	RequestBody     string `json:"request_body"`
	Stream          bool   `json:"stream"`
	AppIncludeUsage bool   `json:"app_include_usage"`
	ContentType     string `json:"content_type"`
	// ExpectedUsage is nil for an answer that states no usage.
	ExpectedUsage *struct {
		Input         int64 `json:"input"`     // cached and cache writes included
		Cached        int64 `json:"cached"`    // read from the cache
		Output        int64 `json:"output"`    // reasoning included
		Reasoning     int64 `json:"reasoning"` // the part of output spent reasoning
		CacheCreation int64 `json:"cache_creation"`
	} `json:"expected_usage"`

	body, appBody []byte
}

// captureTypes maps a capture's provider to the provider type serving it.
var captureTypes = map[string]proxyconfig.ProviderType{
	"openai":    proxyconfig.OpenAI,
	"azure":     proxyconfig.AzureOpenAI,
	"anthropic": proxyconfig.Anthropic,
	"gemini":    proxyconfig.Gemini,
	"compat":    proxyconfig.OpenAICompatible,
}

// loadCaptures reads every capture, with the bytes the app must receive:
// NAME.app.body where the sidecar's request for usage changes them, else
// the body itself.
func loadCaptures(t *testing.T) []capture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "captures", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var all []capture
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		var c capture
		require.NoError(t, json.Unmarshal(raw, &c), p)
		base := strings.TrimSuffix(p, ".json")
		c.body, err = os.ReadFile(base + ".body")
		require.NoError(t, err)
		c.appBody, err = os.ReadFile(base + ".app.body")
		if errors.Is(err, os.ErrNotExist) {
			c.appBody, err = c.body, nil
		}
		require.NoError(t, err)
		_, err = os.Stat(base + ".src.txt")
		require.NoError(t, err, "%s: keep the attribution next to the capture", c.Name)
		all = append(all, c)
	}
	return all
}

// want is the Usage the capture states.
func (c capture) want() Usage {
	e := c.ExpectedUsage
	if e == nil {
		return Usage{}
	}
	// The captures' cache writes are all 5-minute ones (their
	// cache_creation breakdowns say so).
	return Usage{InputTokens: e.Input, CachedInputTokens: e.Cached, CacheWriteTokens: e.CacheCreation, OutputTokens: e.Output, ReasoningTokens: e.Reasoning, Known: true}
}

// TestCaptures_UsageAndBytesOfRealAnswers replays every real answer: a
// stream through the observer, cut at random byte boundaries as a network
// cuts it, and checks that the app gets the bytes it must and that the
// usage read is what the answer states.
func TestCaptures_UsageAndBytesOfRealAnswers(t *testing.T) {
	captures := loadCaptures(t)
	assert.GreaterOrEqual(t, len(captures), 36)
	for _, c := range captures {
		t.Run(c.Name, func(t *testing.T) {
			typ, ok := captureTypes[c.Provider]
			require.True(t, ok, "provider %q", c.Provider)
			a := adapterFor(t, typ)
			req, err := a.ParseRequest(c.Method, c.Path, []byte(c.RequestBody))
			require.NoError(t, err)
			require.NotEqual(t, ShapeOther, req.Shape)
			assert.Equal(t, c.Stream, req.Stream)
			if req.Shape == ShapeOpenAIChat {
				assert.Equal(t, c.AppIncludeUsage, req.StreamUsageRequested)
			}

			if !strings.HasPrefix(c.ContentType, "text/event-stream") {
				assert.Equal(t, c.want(), a.Usage(req, c.body))
				assert.Equal(t, c.body, c.appBody, "a JSON answer is passed on as it came")
				return
			}
			for seed := range uint64(25) {
				got, usage := replay(t, a.NewStreamObserver(req), c.body, seed)
				require.Equal(t, string(c.appBody), string(got), "bytes the app got, cut with seed %d", seed)
				require.Equal(t, c.want(), usage, "cut with seed %d", seed)
			}
		})
	}
}

// TestCaptures_UsageOfRealJSONAnswersReadAsTheyPass reads every real JSON
// answer as the proxy does, never whole: through a wire.Picker keeping
// UsageMembers, in pieces cut at random byte boundaries, and checks that
// the usage read from what it kept is what the answer states, and what the
// whole answer gives.
func TestCaptures_UsageOfRealJSONAnswersReadAsTheyPass(t *testing.T) {
	for _, c := range loadCaptures(t) {
		if strings.HasPrefix(c.ContentType, "text/event-stream") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			a := adapterFor(t, captureTypes[c.Provider])
			req, err := a.ParseRequest(c.Method, c.Path, []byte(c.RequestBody))
			require.NoError(t, err)
			for seed := range uint64(25) {
				p := wire.NewPicker(64<<10, UsageMembers...)
				var r io.Reader = bytes.NewReader(c.body)
				if seed > 0 {
					r = &cutReader{rest: c.body, rng: rand.New(rand.NewPCG(seed, seed))}
				}
				_, err := io.Copy(p, r)
				require.NoError(t, err)
				doc, ok := p.Document()
				require.True(t, ok, "cut with seed %d", seed)
				require.Equal(t, c.want(), a.Usage(req, doc), "cut with seed %d: kept %s", seed, doc)
				require.Equal(t, a.Usage(req, c.body), a.Usage(req, doc), "cut with seed %d", seed)
			}
		})
	}
}

// replay passes stream through obs as the sidecar does, read in pieces of
// random length (seed 0: in one piece), and returns the bytes the app got
// and the usage read.
func replay(t *testing.T, obs StreamObserver, stream []byte, seed uint64) ([]byte, Usage) {
	t.Helper()
	var r io.Reader = bytes.NewReader(stream)
	if seed > 0 {
		r = &cutReader{rest: stream, rng: rand.New(rand.NewPCG(seed, seed))}
	}
	events := wire.NewEventReader(r)
	var app []byte
	for {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			return app, obs.Usage()
		}
		require.NoError(t, err)
		if raw, keep := obs.Observe(ev); keep {
			app = append(app, raw...)
		}
	}
}

// cutReader hands out its bytes in pieces of random length, from one byte
// to a few hundred.
type cutReader struct {
	rest []byte
	rng  *rand.Rand
}

func (r *cutReader) Read(p []byte) (int, error) {
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	n := 1 + r.rng.IntN(min(len(p), len(r.rest), 300))
	if r.rng.IntN(4) == 0 {
		n = 1 // often a single byte: inside "\r\n", a key, a number
	}
	n = copy(p, r.rest[:n])
	r.rest = r.rest[n:]
	return n, nil
}
