package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server answers every request with handler and counts how many it serves
// at once.
type server struct {
	*httptest.Server
	inFlight, peak atomic.Int64
	served         atomic.Int64
}

func newServer(t *testing.T, handler http.HandlerFunc) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raise(&s.peak, s.inFlight.Add(1))
		defer s.inFlight.Add(-1)
		s.served.Add(1)
		handler(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func okJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprint(w, `{"ok":true}`)
}

// sse answers with events data events and, when done, data: [DONE].
func sse(events int, done bool, data string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range events {
			_, _ = fmt.Fprintf(w, "data: {\"i\":%d,\"d\":%q}\n\n", i, data)
			w.(http.Flusher).Flush()
		}
		if done {
			_, _ = fmt.Fprint(w, "data: [DONE]\n\n")
		}
	}
}

func request(s *server) Request {
	return Request{URL: s.URL + "/v1/chat/completions", Body: []byte(`{"model":"m"}`)}
}

func TestOpenLoop_SendsRateTimesDurationAndMeasuresOnlyAfterWarmup(t *testing.T) {
	s := newServer(t, okJSON)
	o := OpenLoop{Rate: 200, Warmup: 100 * time.Millisecond, Duration: 250 * time.Millisecond, Timeout: 10 * time.Second}
	res := o.Run(context.Background(), NewClient(16), request(s))
	assert.Equal(t, 50, res.Sent, "200/s for 250ms")
	assert.Equal(t, 50, res.OK)
	assert.Zero(t, res.Errors)
	assert.Equal(t, 50, res.Latency.Count)
	assert.EqualValues(t, 70, s.served.Load(), "the 20 warm-up requests are sent too")
	assert.InDelta(t, 0.25, res.Seconds, 1e-9)
}

func TestOpenLoop_ChargesAtLeastTheServersDelay(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		okJSON(w, r)
	})
	o := OpenLoop{Rate: 100, Duration: 100 * time.Millisecond, Timeout: 10 * time.Second}
	res := o.Run(context.Background(), NewClient(16), request(s))
	require.Equal(t, 10, res.OK)
	assert.GreaterOrEqual(t, res.Latency.P50, 20.0)
}

func TestOpenLoop_CountsRefusalsAsErrorsAndSaysWhy(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"overloaded"}`, http.StatusServiceUnavailable)
	})
	o := OpenLoop{Rate: 100, Duration: 100 * time.Millisecond, Timeout: 10 * time.Second}
	res := o.Run(context.Background(), NewClient(16), request(s))
	assert.Equal(t, 10, res.Errors)
	assert.Zero(t, res.OK)
	assert.Contains(t, res.FirstError, "status 503")
	assert.Contains(t, res.FirstError, "overloaded")
}

func TestOpenLoop_StopsWhenTheContextEnds(t *testing.T) {
	s := newServer(t, okJSON)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := OpenLoop{Rate: 100, Duration: time.Hour, Timeout: 10 * time.Second}
	res := o.Run(ctx, NewClient(16), request(s))
	assert.Zero(t, res.Sent)
	assert.Zero(t, s.served.Load())
}

func TestClosedLoop_NeverExceedsItsConcurrency(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		okJSON(w, r)
	})
	c := ClosedLoop{Concurrency: 4, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond, Timeout: 10 * time.Second}
	res := c.Run(context.Background(), NewClient(16), request(s))
	assert.Positive(t, res.OK)
	assert.Zero(t, res.Errors)
	assert.Equal(t, res.OK, res.Latency.Count)
	assert.InDelta(t, float64(res.OK)/0.2, res.Rate, 1e-6)
	assert.LessOrEqual(t, s.peak.Load(), int64(4))
	assert.Greater(t, s.served.Load(), int64(res.OK), "warm-up requests are not measured")
}

func TestClosedLoop_CountsEveryRequestItSent(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		okJSON(w, r)
	})
	c := ClosedLoop{Concurrency: 4, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond, Timeout: 10 * time.Second}
	samples := c.Sample(context.Background(), NewClient(16), request(s))
	assert.EqualValues(t, s.served.Load(), samples.All(), "warm-up and stragglers included: what the server's CPU time served")
	assert.Greater(t, samples.All(), samples.Result().Sent)

	var pooled Samples
	pooled.Merge(samples)
	pooled.Merge(samples)
	assert.Equal(t, 2*samples.All(), pooled.All())
}

func TestStreams_CountsEventsAndCompletedStreams(t *testing.T) {
	s := newServer(t, sse(5, true, "x"))
	st := Streams{Count: 20, Ramp: 20 * time.Millisecond, StallGap: time.Hour, Timeout: 10 * time.Second}
	res := st.Run(context.Background(), NewClient(32), request(s))
	assert.Equal(t, 20, res.Streams)
	assert.Equal(t, 20, res.Completed)
	assert.Zero(t, res.Failed)
	assert.EqualValues(t, 20*6, res.Events, "five events and [DONE] per stream")
	assert.Equal(t, 20, res.TTFT.Count)
	assert.Zero(t, res.Stalls)
	assert.Positive(t, res.PeakOpen)
	assert.LessOrEqual(t, res.PeakOpen, 20)
}

func TestStreams_CountsEveryGapAboveTheStallGap(t *testing.T) {
	s := newServer(t, sse(3, true, "x"))
	st := Streams{Count: 4, StallGap: time.Nanosecond, Timeout: 10 * time.Second}
	res := st.Run(context.Background(), NewClient(8), request(s))
	assert.Equal(t, 4*3, res.Stalls, "four events per stream, three gaps")
	assert.Equal(t, 4, res.StalledStreams)
	assert.Positive(t, res.MaxGap)
}

func TestStreams_AStreamWithoutDoneHasFailed(t *testing.T) {
	s := newServer(t, sse(2, false, "x"))
	st := Streams{Count: 3, StallGap: time.Hour, Timeout: 10 * time.Second}
	res := st.Run(context.Background(), NewClient(8), request(s))
	assert.Equal(t, 3, res.Failed)
	assert.Zero(t, res.Completed)
	assert.Contains(t, res.FirstError, "ended after 2 events without data: [DONE]")
}

func TestStreams_AnEventLongerThanTheReadBufferIsOneEvent(t *testing.T) {
	// The padding puts "data: " at the start of the line's second 4 KiB
	// piece, where a reader that lost track of lines would see an event.
	s := newServer(t, sse(2, true, "xxx"+strings.Repeat("data: ", 3000)))
	st := Streams{Count: 1, StallGap: time.Hour, Timeout: 10 * time.Second}
	res := st.Run(context.Background(), NewClient(8), request(s))
	assert.Equal(t, 1, res.Completed)
	assert.EqualValues(t, 3, res.Events)
}

func TestStreams_ARefusedStreamHasFailed(t *testing.T) {
	s := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "rate limited", http.StatusTooManyRequests)
	})
	st := Streams{Count: 2, StallGap: time.Hour, Timeout: 10 * time.Second}
	res := st.Run(context.Background(), NewClient(8), request(s))
	assert.Equal(t, 2, res.Failed)
	assert.Zero(t, res.TTFT.Count)
	assert.Contains(t, res.FirstError, "status 429")
}

func TestSamples_MergePoolsRunsIntoOneResult(t *testing.T) {
	s := newServer(t, okJSON)
	o := OpenLoop{Rate: 100, Duration: 100 * time.Millisecond, Timeout: 10 * time.Second}
	client := NewClient(8)
	var pooled Samples
	pooled.Merge(o.Sample(context.Background(), client, request(s)))
	pooled.Merge(o.Sample(context.Background(), client, request(s)))
	res := pooled.Result()
	assert.Equal(t, 20, res.Sent)
	assert.Equal(t, 20, res.Latency.Count)
	assert.InDelta(t, 0.2, res.Seconds, 1e-9)
	assert.InDelta(t, 100, res.Rate, 1e-6)
}

func TestStreamResult_MergePoolsCountsAndSamples(t *testing.T) {
	s := newServer(t, sse(2, true, "x"))
	st := Streams{Count: 3, StallGap: time.Nanosecond, Timeout: 10 * time.Second}
	client := NewClient(8)
	var pooled StreamResult
	pooled.Merge(st.Run(context.Background(), client, request(s)))
	pooled.Merge(st.Run(context.Background(), client, request(s)))
	assert.Equal(t, 6, pooled.Streams)
	assert.Equal(t, 6, pooled.Completed)
	assert.Equal(t, 6, pooled.TTFT.Count, "the TTFT samples of both runs")
	assert.Equal(t, 6*2, pooled.Stalls)
	assert.EqualValues(t, 6*3, pooled.Events)
	assert.LessOrEqual(t, pooled.PeakOpen, 3, "streams of different runs are never open together")
}

func TestSend_SendsTheRequestsHeadersWithTheJSONContentType(t *testing.T) {
	var got http.Header
	s := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		okJSON(w, r)
	})
	r := request(s)
	r.Header = http.Header{"X-Portkey-Provider": {"openai"}, "Content-Type": {"text/plain"}}
	require.NoError(t, Send(t.Context(), s.Client(), r))
	assert.Equal(t, "openai", got.Get("X-Portkey-Provider"))
	assert.Equal(t, "application/json", got.Get("Content-Type"), "the body is JSON whatever the headers say")
}
