package load

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// OpenLoop configures a fixed-rate run.
type OpenLoop struct {
	// Rate is the requests sent per second, whatever the answers do.
	Rate float64
	// Warmup is sent at Rate first and not measured.
	Warmup time.Duration
	// Duration is the measured part of the run.
	Duration time.Duration
	// Timeout bounds each request.
	Timeout time.Duration
}

// Run sends r at o.Rate for o.Warmup plus o.Duration, each request in its
// own goroutine at its scheduled time, and measures each latency from that
// scheduled time. It returns once every request has ended; a cancelled ctx
// stops the schedule early.
func (o OpenLoop) Run(ctx context.Context, client *http.Client, r Request) Result {
	return o.Sample(ctx, client, r).Result()
}

// Sample is Run, returning the raw samples.
func (o OpenLoop) Sample(ctx context.Context, client *http.Client, r Request) Samples {
	warm := int(o.Warmup.Seconds() * o.Rate)
	measured := int(o.Duration.Seconds() * o.Rate)
	outs := make([]outcome, warm+measured) // written by request i's goroutine only
	var wg sync.WaitGroup
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now()
	sent := 0
	for i := range outs {
		at := start.Add(time.Duration(float64(i) * float64(time.Second) / o.Rate))
		if !sleepUntil(ctx, timer, at) {
			break
		}
		sent++
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			err := Send(cctx, client, r)
			outs[i] = outcome{latency: time.Since(at), err: err}
		})
	}
	wg.Wait()
	if sent <= warm {
		return Samples{}
	}
	return Samples{outs: outs[warm:sent], window: time.Duration(float64(sent-warm) * float64(time.Second) / o.Rate)}
}
