package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"tollgate.dev/tollgate/bench/internal/stats"
)

// Streams configures a run of many concurrent SSE streams.
type Streams struct {
	// Count is the number of streams.
	Count int
	// Ramp spreads the streams' starts evenly over this long, so that
	// time-to-first-token measures the target, not a burst of dials.
	Ramp time.Duration
	// StallGap is the pause between two events of a stream above which
	// the pause counts as a stall.
	StallGap time.Duration
	// Timeout bounds each stream, start to end.
	Timeout time.Duration
}

// StreamResult is what a run of streams measured.
type StreamResult struct {
	// TTFT is the distribution of the time from each stream's scheduled
	// start to its first SSE event.
	TTFT stats.Summary `json:"ttft"`
	// Streams counts the streams started.
	Streams int `json:"streams"`
	// Completed counts the streams that ended with data: [DONE].
	Completed int `json:"completed"`
	// Failed counts the streams that were refused or broke off.
	Failed int `json:"failed"`
	// FirstError describes one failure, to tell what went wrong.
	FirstError string `json:"first_error,omitempty"`
	// Stalls counts the pauses between two events of a stream longer than
	// StallGap.
	Stalls int `json:"stalls"`
	// StalledStreams counts the streams with at least one stall.
	StalledStreams int `json:"stalled_streams"`
	// MaxGap is the longest pause between two events of any stream, in
	// milliseconds.
	MaxGap float64 `json:"max_gap_ms"`
	// Events counts the SSE events received over all streams.
	Events int64 `json:"events"`
	// PeakOpen is the largest number of streams open at once.
	PeakOpen int `json:"peak_open"`

	ttft []time.Duration // the samples behind TTFT, for Merge
}

// Merge pools o, a run against the same target, into r.
func (r *StreamResult) Merge(o StreamResult) {
	r.ttft = append(r.ttft, o.ttft...)
	r.TTFT = stats.Summarize(r.ttft)
	r.Streams += o.Streams
	r.Completed += o.Completed
	r.Failed += o.Failed
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	r.Stalls += o.Stalls
	r.StalledStreams += o.StalledStreams
	r.MaxGap = max(r.MaxGap, o.MaxGap)
	r.Events += o.Events
	r.PeakOpen = max(r.PeakOpen, o.PeakOpen)
}

// stream is one stream's measurement.
type stream struct {
	ttft   time.Duration // 0 when no event came
	stalls int
	maxGap time.Duration
	events int64
	err    error
}

// Run opens s.Count streams of r, spread over s.Ramp, reads each to its
// end, and returns once all have ended.
func (s Streams) Run(ctx context.Context, client *http.Client, r Request) StreamResult {
	outs := make([]stream, s.Count) // written by stream i's goroutine only
	var open, peak atomic.Int64
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	started := 0
	for i := range outs {
		at := start.Add(time.Duration(int64(s.Ramp) * int64(i) / int64(max(s.Count, 1))))
		if !sleepUntil(ctx, timer, at) {
			break
		}
		started++
		wg.Go(func() {
			raise(&peak, open.Add(1))
			defer open.Add(-1)
			cctx, cancel := context.WithTimeout(ctx, s.Timeout)
			defer cancel()
			outs[i] = s.read(cctx, client, r, at)
		})
	}
	wg.Wait()
	res := StreamResult{Streams: started, PeakOpen: int(peak.Load())}
	var ttft []time.Duration
	for _, o := range outs[:started] {
		res.Events += o.events
		res.Stalls += o.stalls
		if o.stalls > 0 {
			res.StalledStreams++
		}
		res.MaxGap = max(res.MaxGap, stats.Millis(o.maxGap))
		if o.ttft > 0 {
			ttft = append(ttft, o.ttft)
		}
		if o.err != nil {
			res.Failed++
			if res.FirstError == "" {
				res.FirstError = o.err.Error()
			}
			continue
		}
		res.Completed++
	}
	res.ttft = ttft
	res.TTFT = stats.Summarize(ttft)
	return res
}

// raise sets m to n when n is larger.
func raise(m *atomic.Int64, n int64) {
	for p := m.Load(); n > p; p = m.Load() {
		if m.CompareAndSwap(p, n) {
			return
		}
	}
}

var (
	dataPrefix = []byte("data:")
	doneData   = []byte("[DONE]")
)

// read sends r, scheduled at at, and reads its SSE answer line by line,
// timing each event as its line arrives.
func (s Streams) read(ctx context.Context, client *http.Client, r Request, at time.Time) stream {
	var out stream
	resp, err := post(ctx, client, r)
	if err != nil {
		out.err = err
		return out
	}
	defer resp.Body.Close()
	br := bufio.NewReaderSize(resp.Body, 4096)
	var last time.Time
	done, midLine := false, false
	for {
		line, err := br.ReadSlice('\n')
		// A line longer than the buffer comes in pieces; only its first
		// piece starts an event.
		if len(line) > 0 && !midLine && bytes.HasPrefix(line, dataPrefix) {
			now := time.Now()
			out.events++
			if last.IsZero() {
				out.ttft = now.Sub(at)
			} else if gap := now.Sub(last); gap > out.maxGap {
				out.maxGap = gap
			}
			if !last.IsZero() && now.Sub(last) > s.StallGap {
				out.stalls++
			}
			last = now
			if bytes.Equal(bytes.TrimSpace(line[len(dataPrefix):]), doneData) {
				done = true
			}
		}
		midLine = errors.Is(err, bufio.ErrBufferFull)
		switch {
		case err == nil || midLine:
			continue
		case errors.Is(err, io.EOF) && done:
			return out
		case errors.Is(err, io.EOF):
			out.err = fmt.Errorf("stream from %s ended after %d events without data: [DONE]", r.URL, out.events)
		default:
			out.err = fmt.Errorf("read stream from %s after %d events: %w", r.URL, out.events, err)
		}
		return out
	}
}
