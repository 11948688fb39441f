package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/wire"
)

// fuzzPaths are the paths FuzzKey keys bodies for: some with members to
// drop, some without.
var fuzzPaths = []string{
	"/v1/chat/completions",
	"/v1/responses",
	"/v1/messages",
	"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=k",
}

func FuzzKey(f *testing.F) {
	f.Add(uint8(0), []byte(chatBody), []byte(`{"messages":[{"content":"hi","role":"user"}],"temperature":0.0,"model":"gpt-4o","user":"u"}`))
	f.Add(uint8(1), []byte(`{"model":"gpt-4.1","input":"\u00e9\ud83d\ude00","conversation":null}`), []byte(`{"model":"gpt-4.1","input":"é😀"}`))
	f.Add(uint8(2), []byte(`{"metadata":{"user_id":"x"},"max_tokens":1e2,"messages":[]}`), []byte(`{"max_tokens":100,"messages":[]}`))
	f.Add(uint8(3), []byte(`{"generationConfig":{"temperature":-0.0},"contents":[1E400,12345678901234567891]}`), []byte(`[]`))
	f.Add(uint8(0), []byte(`{"a":"\ud83d"}`), []byte(`{"a":1,"a":2}`))
	f.Add(uint8(0), []byte(`1e99999999999999999999`), []byte(`"\u0000\/"`))

	f.Fuzz(func(t *testing.T, pathIndex uint8, a, b []byte) {
		path := fuzzPaths[int(pathIndex)%len(fuzzPaths)]
		in := func(body []byte) KeyInput {
			return KeyInput{Scope: testScope, Provider: testProvider, Path: path, Body: body}
		}
		_ = Deterministic(a)

		keyA, errA := Key(in(a))
		if errA != nil {
			assert.Empty(t, keyA)
			return
		}
		require.True(t, json.Valid(a), "only JSON gets a key")

		canonA, err := wire.Canonical(a, nil)
		require.NoError(t, err)
		require.True(t, json.Valid(canonA), "the canonical form is JSON: %s", canonA)
		again, err := wire.Canonical(canonA, nil)
		require.NoError(t, err)
		require.Equal(t, string(canonA), string(again), "the canonical form is its own canonical form")
		assert.Equal(t, keyA, mustKey(t, in(canonA)), "a body and its canonical form share a key")

		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, a, "\t", "  "))
		assert.Equal(t, keyA, mustKey(t, in(indented.Bytes())), "whitespace does not change the key")

		keyB, errB := Key(in(b))
		if errB != nil {
			return
		}
		noQuery, _, _ := strings.Cut(path, "?")
		drop := func(name string) bool { return ignored(noQuery, name) }
		canonKeyA, err := wire.Canonical(a, drop)
		require.NoError(t, err)
		canonKeyB, err := wire.Canonical(b, drop)
		require.NoError(t, err)
		assert.Equal(t, bytes.Equal(canonKeyA, canonKeyB), keyA == keyB, "keys are equal exactly when canonical forms are")
	})
}

func FuzzReplay(f *testing.F) {
	f.Add([]byte(openAIStream), uint8(7))
	f.Add([]byte(anthropicStream), uint8(0))
	f.Add([]byte("data: a\r\n\r\n\r\r\n: x\rtail"), uint8(2))

	f.Fuzz(func(t *testing.T, body []byte, bufSize uint8) {
		e := &Entry{Status: http.StatusOK, Body: body, Stream: true}
		buf := make([]byte, int(bufSize)+1)
		r := e.Response(nil).Body
		var got []byte
		ends := eventEnds(t, body)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				require.NotEmpty(t, ends)
				require.LessOrEqual(t, len(got)+n, ends[0], "a Read never crosses into the next event")
				got = append(got, buf[:n]...)
				if len(got) == ends[0] {
					ends = ends[1:]
				}
			}
			if err == io.EOF {
				break
			}
			require.NoError(t, err)
			require.Positive(t, n, "a Read before the end returns bytes")
		}
		require.Equal(t, string(body), string(got), "the replay is byte-exact")
		_ = checkStream(body)
	})
}

// eventEnds returns the offset just past each event of the stream body.
func eventEnds(t *testing.T, body []byte) []int {
	var ends []int
	events := wire.NewEventReader(bytes.NewReader(body))
	for off := 0; ; {
		ev, err := events.Next()
		if errors.Is(err, io.EOF) {
			return ends
		}
		require.NoError(t, err)
		off += len(ev.Raw)
		ends = append(ends, off)
	}
}
