package load

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// ClosedLoop configures a run of workers that each send the next request
// as soon as the last one is answered: the highest rate a target sustains
// at a given concurrency.
type ClosedLoop struct {
	// Concurrency is the number of workers.
	Concurrency int
	// Warmup is run first and not measured.
	Warmup time.Duration
	// Duration is the measured part of the run.
	Duration time.Duration
	// Timeout bounds each request.
	Timeout time.Duration
}

// Run sends r from c.Concurrency workers until the warm-up and the
// measured window are over, and measures the requests that ended inside
// the window (in steady state, the rate the target sustains).
func (c ClosedLoop) Run(ctx context.Context, client *http.Client, r Request) Result {
	return c.Sample(ctx, client, r).Result()
}

// Sample is Run, returning the raw samples.
func (c ClosedLoop) Sample(ctx context.Context, client *http.Client, r Request) Samples {
	from := time.Now().Add(c.Warmup)
	to := from.Add(c.Duration)
	perWorker := make([][]outcome, c.Concurrency) // worker i writes perWorker[i] only
	sent := make([]int, c.Concurrency)            // and sent[i]
	var wg sync.WaitGroup
	for w := range perWorker {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(to) {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, c.Timeout)
				err := Send(cctx, client, r)
				cancel()
				sent[w]++
				t1 := time.Now()
				if !t1.Before(from) && !t1.After(to) {
					perWorker[w] = append(perWorker[w], outcome{latency: t1.Sub(t0), err: err})
				}
			}
		})
	}
	wg.Wait()
	var outs []outcome
	all := 0
	for w, o := range perWorker {
		outs = append(outs, o...)
		all += sent[w]
	}
	return Samples{outs: outs, window: c.Duration, all: all}
}
