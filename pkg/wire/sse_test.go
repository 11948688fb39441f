package wire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wantEvent is an expected event; data "<nil>" means no data line at all.
type wantEvent struct {
	raw, name, data string
}

const noData = "<nil>"

func TestEventReader_SplitsStreamsIntoEvents(t *testing.T) {
	tests := map[string]struct {
		in   string
		want []wantEvent
	}{
		"LF line endings give one event per blank line": {
			in: "data: a\n\ndata: b\n\n",
			want: []wantEvent{
				{raw: "data: a\n\n", data: "a"},
				{raw: "data: b\n\n", data: "b"},
			},
		},
		"CRLF line endings are kept in Raw": {
			in: "event: x\r\ndata: a\r\n\r\ndata: b\r\n\r\n",
			want: []wantEvent{
				{raw: "event: x\r\ndata: a\r\n\r\n", name: "x", data: "a"},
				{raw: "data: b\r\n\r\n", data: "b"},
			},
		},
		"CR line endings work alone": {
			in: "data: a\rdata: b\r\rdata: c\r\r",
			want: []wantEvent{
				{raw: "data: a\rdata: b\r\r", data: "a\nb"},
				{raw: "data: c\r\r", data: "c"},
			},
		},
		"mixed line endings in one stream": {
			in: "data: a\r\ndata: b\n\r\ndata: c\r\n",
			want: []wantEvent{
				{raw: "data: a\r\ndata: b\n\r\n", data: "a\nb"},
				{raw: "data: c\r\n", data: "c"},
			},
		},
		"several data lines are joined with newlines": {
			in:   "data: {\ndata:   \"a\": 1\ndata:}\n\n",
			want: []wantEvent{{raw: "data: {\ndata:   \"a\": 1\ndata:}\n\n", data: "{\n  \"a\": 1\n}"}},
		},
		"comments are skipped but kept in Raw": {
			in:   ": hello\ndata: a\n: mid\n\n",
			want: []wantEvent{{raw: ": hello\ndata: a\n: mid\n\n", data: "a"}},
		},
		"a comment-only keep-alive is its own event": {
			in: ": keep-alive\n\ndata: a\n\n",
			want: []wantEvent{
				{raw: ": keep-alive\n\n", data: noData},
				{raw: "data: a\n\n", data: "a"},
			},
		},
		"stray blank lines are events of their own": {
			in: "\n\ndata: a\n\n",
			want: []wantEvent{
				{raw: "\n", data: noData},
				{raw: "\n", data: noData},
				{raw: "data: a\n\n", data: "a"},
			},
		},
		"the last event may end at EOF without a blank line": {
			in: "data: a\n\ndata: [DONE]",
			want: []wantEvent{
				{raw: "data: a\n\n", data: "a"},
				{raw: "data: [DONE]", data: "[DONE]"},
			},
		},
		"the last event may end at EOF after one newline": {
			in:   "event: message_stop\ndata: {}\n",
			want: []wantEvent{{raw: "event: message_stop\ndata: {}\n", name: "message_stop", data: "{}"}},
		},
		"only one space after the colon is stripped": {
			in: "data:  two\n\ndata:none\n\n",
			want: []wantEvent{
				{raw: "data:  two\n\n", data: " two"},
				{raw: "data:none\n\n", data: "none"},
			},
		},
		"a data line without colon is empty data": {
			in:   "data\n\n",
			want: []wantEvent{{raw: "data\n\n", data: ""}},
		},
		"unknown fields, id and retry are ignored": {
			in:   "id: 7\nretry: 100\nfoo: bar\nevent: ping\ndata: {}\n\n",
			want: []wantEvent{{raw: "id: 7\nretry: 100\nfoo: bar\nevent: ping\ndata: {}\n\n", name: "ping", data: "{}"}},
		},
		"the last event field wins": {
			in:   "event: a\nevent: b\ndata: x\n\n",
			want: []wantEvent{{raw: "event: a\nevent: b\ndata: x\n\n", name: "b", data: "x"}},
		},
		"an event with a name and no data is returned": {
			in:   "event: x\n\n",
			want: []wantEvent{{raw: "event: x\n\n", name: "x", data: noData}},
		},
		"a byte-order mark at the start is not part of the first field": {
			in:   "\xef\xbb\xbfdata: a\n\n",
			want: []wantEvent{{raw: "\xef\xbb\xbfdata: a\n\n", data: "a"}},
		},
		"an empty stream has no events": {
			in:   "",
			want: nil,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
				evs := readAll(t, &chunkReader{data: []byte(tc.in), n: chunk})
				var raw bytes.Buffer
				for _, ev := range evs {
					raw.Write(ev.Raw)
				}
				assert.Equal(t, tc.in, raw.String(), "chunk size %d: Raw must reproduce the stream", chunk)
				if chunk < len(tc.in) {
					// Split reads may cut a "\r\n" in two, moving the "\n" to
					// the next event; names and data must not change.
					evs = withContent(evs)
				}
				want := tc.want
				if chunk < len(tc.in) {
					want = nil
					for _, w := range tc.want {
						if w.name != "" || w.data != noData {
							want = append(want, w)
						}
					}
				}
				require.Len(t, evs, len(want), "chunk size %d", chunk)
				for i, w := range want {
					if chunk >= len(tc.in) {
						assert.Equal(t, w.raw, string(evs[i].Raw), "event %d raw", i)
					}
					assert.Equal(t, w.name, evs[i].Name, "chunk size %d event %d name", chunk, i)
					if w.data == noData {
						assert.Nil(t, evs[i].Data, "event %d data", i)
					} else {
						assert.Equal(t, w.data, string(evs[i].Data), "chunk size %d event %d data", chunk, i)
					}
				}
			}
		})
	}
}

// withContent keeps the events that have a name or data.
func withContent(evs []Event) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Name != "" || ev.Data != nil {
			out = append(out, ev)
		}
	}
	return out
}

func TestEventReader_ReturnsEachEventWithoutReadingAhead(t *testing.T) {
	tests := map[string]struct {
		chunks    []string
		wantRaw   []string
		wantReads []int // reads done when each event is returned
	}{
		"an event complete in one read is returned before the next read": {
			chunks:    []string{"data: a\n\n", "data: b\n\n"},
			wantRaw:   []string{"data: a\n\n", "data: b\n\n"},
			wantReads: []int{1, 2},
		},
		"two events in one read need no further read": {
			chunks:    []string{"data: a\n\ndata: b\n\n", "data: c\n\n"},
			wantRaw:   []string{"data: a\n\n", "data: b\n\n", "data: c\n\n"},
			wantReads: []int{1, 1, 2},
		},
		"an event ending in CR is not held back waiting for a possible LF": {
			chunks:    []string{"data: a\r\r", "\ndata: b\r\n\r\n"},
			wantRaw:   []string{"data: a\r\r", "\ndata: b\r\n\r\n"},
			wantReads: []int{1, 2},
		},
		"an event split over reads is returned when its end arrives": {
			chunks:    []string{"da", "ta: a\n", "\ndata: b\n\n"},
			wantRaw:   []string{"data: a\n\n", "data: b\n\n"},
			wantReads: []int{3, 3},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			sr := &scriptedReader{chunks: tc.chunks}
			er := NewEventReader(sr)
			for i, want := range tc.wantRaw {
				ev, err := er.Next()
				require.NoError(t, err)
				assert.Equal(t, want, string(ev.Raw), "event %d", i)
				assert.Equal(t, tc.wantReads[i], sr.reads, "reads after event %d", i)
			}
			_, err := er.Next()
			assert.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestEventReader_AStreamWhoseLastCRLFIsSplitIsNotCut(t *testing.T) {
	// The last event's blank line is "\r\n"; its "\r" ends the event at
	// once, and its "\n" comes in a read of its own, the stream's last
	// bytes. Nothing was cut: it goes out as a blank event, not a truncated
	// one (a cache would refuse a truncated stream, and output validation
	// would call the answer cut).
	for name, chunks := range map[string][]string{
		"the LF alone in the last read":       {"data: a\r\n\r", "\n"},
		"the LF after an empty read":          {"data: a\r\n\r", "", "\n"},
		"after a byte-order mark and comment": {"\xef\xbb\xbf: hi\r\n\r", "\n"},
	} {
		t.Run(name, func(t *testing.T) {
			er := NewEventReader(&scriptedReader{chunks: chunks})
			var raw string
			for {
				ev, err := er.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				require.NoError(t, err)
				assert.False(t, ev.Truncated, "event %q is marked truncated", ev.Raw)
				raw += string(ev.Raw)
			}
			assert.Equal(t, strings.Join(chunks, ""), raw, "every byte passes once")
		})
	}
	t.Run("bytes after the LF are still a cut event", func(t *testing.T) {
		er := NewEventReader(&scriptedReader{chunks: []string{"data: a\r\n\r", "\ndata: b"}})
		_, err := er.Next()
		require.NoError(t, err)
		ev, err := er.Next()
		require.NoError(t, err)
		assert.Equal(t, "\ndata: b", string(ev.Raw))
		assert.True(t, ev.Truncated)
	})
}

func TestEventReader_LimitsEventSize(t *testing.T) {
	t.Run("a long line under the limit is read whole", func(t *testing.T) {
		payload := strings.Repeat("x", 3<<20)
		in := []byte("data: " + payload + "\n\ndata: b\n\n")
		// In small reads too, as from a network: the line is searched for
		// its end once, not again after every read.
		for _, r := range []io.Reader{bytes.NewReader(in), &chunkReader{data: in, n: 4096}} {
			evs := readAll(t, r)
			require.Len(t, evs, 2)
			assert.Len(t, evs[0].Data, len(payload))
			assert.Equal(t, "b", string(evs[1].Data))
		}
	})
	t.Run("an event over the limit is an error", func(t *testing.T) {
		er := NewEventReader(strings.NewReader("data: a\n\ndata: " + strings.Repeat("x", 100) + "\n\n"))
		er.max = 64
		ev, err := er.Next()
		require.NoError(t, err)
		assert.Equal(t, "a", string(ev.Data))
		_, err = er.Next()
		require.ErrorIs(t, err, ErrEventTooLarge)
		assert.Contains(t, err.Error(), "64 bytes")
	})
	t.Run("the default limit is MaxEventSize", func(t *testing.T) {
		er := NewEventReader(io.MultiReader(strings.NewReader("data: "), infiniteX{}))
		_, err := er.Next()
		require.ErrorIs(t, err, ErrEventTooLarge)
		assert.Len(t, er.buf, MaxEventSize)
	})
}

// infiniteX is an endless line of x.
type infiniteX struct{}

func (infiniteX) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestEventReader_ReturnsTheReadersError(t *testing.T) {
	boom := errors.New("connection reset")
	er := NewEventReader(io.MultiReader(strings.NewReader("data: a\n\ndata: par"), errReader{boom}))
	ev, err := er.Next()
	require.NoError(t, err)
	assert.Equal(t, "a", string(ev.Data))
	ev, err = er.Next()
	require.NoError(t, err, "bytes before the error are still returned")
	assert.Equal(t, "data: par", string(ev.Raw))
	_, err = er.Next()
	assert.ErrorIs(t, err, boom)
	_, err = er.Next()
	assert.ErrorIs(t, err, boom, "the error stays")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestEventReader_ReadsEveryTestdataStreamByteForByte(t *testing.T) {
	for _, name := range sseCaptures(t) {
		t.Run(name, func(t *testing.T) {
			in := testdata(t, name)
			evs := readAll(t, bytes.NewReader(in))
			var raw []byte
			for _, ev := range evs {
				raw = append(raw, ev.Raw...)
				assert.NotEmpty(t, ev.Data, "every testdata event has data")
			}
			assert.Equal(t, in, raw)
		})
	}
}

// sseCaptures lists every recorded provider stream, relative to the
// captures' directory.
func sseCaptures(t testing.TB) []string {
	t.Helper()
	return captures(t, "*.sse")
}

func FuzzEventReader(f *testing.F) {
	for _, name := range sseCaptures(f) {
		f.Add(testdata(f, name), uint8(7))
	}
	f.Add([]byte("data: a\r\r\ndata: b\r"), uint8(1))
	f.Add([]byte("\xef\xbb\xbf: c\n\nevent:x\ndata\n"), uint8(2))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		whole := readAll(t, bytes.NewReader(in))
		split := readAll(t, &chunkReader{data: in, n: int(chunk%16) + 1})
		for _, evs := range [][]Event{whole, split} {
			var raw []byte
			for _, ev := range evs {
				require.NotEmpty(t, ev.Raw, "no event is empty")
				raw = append(raw, ev.Raw...)
			}
			require.Equal(t, string(in), string(raw), "the events' Raw must reproduce the input")
		}
		whole, split = withContent(whole), withContent(split)
		require.Len(t, split, len(whole), "how reads split the input must not change the events")
		for i := range whole {
			require.Equal(t, whole[i].Name, split[i].Name)
			require.Equal(t, whole[i].Data, split[i].Data)
		}
	})
}

func BenchmarkEventReader(b *testing.B) {
	stream := bytes.Repeat(testdata(b, "openai/chat_stream.sse"), 50)
	r := bytes.NewReader(stream)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(stream)
		er := NewEventReader(r)
		for {
			if _, err := er.Next(); err != nil {
				break
			}
		}
	}
}

func TestIsEventStream(t *testing.T) {
	for ct, want := range map[string]bool{
		"text/event-stream":                true,
		"text/event-stream; charset=utf-8": true,
		"application/json":                 false,
		"":                                 false,
		"text/plain":                       false,
	} {
		if got := IsEventStream(ct); got != want {
			t.Errorf("IsEventStream(%q) = %v, want %v", ct, got, want)
		}
	}
}
