package ledgerbench

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"tollgate.dev/tollgate/pkg/budget"
	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// syncTimeout bounds one sync, as the sidecar's client does.
const syncTimeout = 20 * time.Second

// lean is the lean simulation: per pod, a goroutine that syncs as the
// sidecar does (one numbered batch per sync, resent until acknowledged,
// the next sync an interval after the answer) and one that long-polls the
// bundle, all over one shared http.Transport. It keeps no state on disk
// and draws no allowance, so it costs this process little, and it times
// every sync exactly.
type lean struct {
	url      string
	interval time.Duration
	bundles  bool
	client   *http.Client
	pods     []*leanPod

	halt   chan struct{}      // closed by stop: finish the batch in flight, then end
	cancel context.CancelFunc // ends the bundle polls and, past stop's deadline, the syncs
	wg     sync.WaitGroup
}

// leanPod is one pod's sidecar. Its goroutine owns every field.
type leanPod struct {
	pod     benchPod
	epoch   string
	samples []sample
	acked   spend
	// unsure is the spend of a batch never acknowledged: the ledger may
	// or may not have applied it.
	unsure proxyconfig.USD
}

func newLean(pods []benchPod, ledgerURL, caFile string, interval time.Duration, bundles bool) (*lean, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read the ledger's CA: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	// HTTP/1.1, as the sidecar's transport speaks (a custom TLS config
	// turns HTTP/2 off): a connection per sync in flight, so about one per
	// pod, as the ledger sees from real sidecars.
	tr := &http.Transport{
		Proxy:               nil,
		TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 2*len(pods) + 16,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
	l := &lean{url: ledgerURL, interval: interval, bundles: bundles, client: &http.Client{Transport: tr}, halt: make(chan struct{})}
	for _, p := range pods {
		l.pods = append(l.pods, &leanPod{pod: p, epoch: newEpoch()})
	}
	return l, nil
}

func (l *lean) start(ctx context.Context) error {
	ctx, l.cancel = context.WithCancel(ctx)
	for _, p := range l.pods {
		l.wg.Add(1)
		go func() { defer l.wg.Done(); l.runSyncs(ctx, p) }()
		if l.bundles {
			go l.runBundles(ctx, p)
		}
	}
	return nil
}

// runSyncs is one pod's sync loop.
func (l *lean) runSyncs(ctx context.Context, p *leanPod) {
	if !sleep(jitter(l.interval), l.halt) {
		return
	}
	cost := proxyconfig.USD{}
	for range requestsPerInterval {
		cost = cost.Add(requestCost)
	}
	for seq := uint64(1); ; seq++ {
		now := time.Now()
		batch := &ledgerapi.Batch{Seq: seq, Periods: []ledgerapi.PeriodSpend{{
			Start: budget.PeriodStart(proxyconfig.Monthly, now), Spent: ledgerapi.NewAmount(cost), Requests: requestsPerInterval,
		}}}
		// The same batch until it is acknowledged, as a sidecar does; after
		// stop too, so that what was sent is known to be counted.
		for {
			reply, s := l.sync(ctx, p, batch)
			p.samples = append(p.samples, s)
			if s.result == "" && reply.Acked >= seq {
				p.acked.add(cost, requestsPerInterval)
				break
			}
			if ctx.Err() != nil {
				p.unsure = p.unsure.Add(cost)
				return
			}
			time.Sleep(l.interval)
		}
		if !sleep(l.interval, l.halt) {
			return
		}
	}
}

// sync sends one sync and times its answer.
func (l *lean) sync(ctx context.Context, p *leanPod, batch *ledgerapi.Batch) (ledgerapi.SyncReply, sample) {
	var reply ledgerapi.SyncReply
	body, err := json.Marshal(ledgerapi.SyncRequest{PodUID: p.pod.uid, Epoch: p.epoch, Policy: p.pod.policy, Batch: batch})
	if err != nil {
		return reply, sample{at: time.Now(), result: "unreachable"}
	}
	ctx, cancel := context.WithTimeout(ctx, syncTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url+ledgerapi.SyncPath, bytes.NewReader(body))
	if err != nil {
		return reply, sample{at: time.Now(), result: "unreachable"}
	}
	req.Header.Set("Authorization", "Bearer "+p.pod.token)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	status, data, err := l.do(req)
	s := sample{at: start, took: time.Since(start)}
	switch {
	case err != nil:
		s.result = "unreachable"
	case status != http.StatusOK:
		var e ledgerapi.Error
		if json.Unmarshal(data, &e) != nil || e.Code == "" {
			e.Code = http.StatusText(status)
		}
		s.result = e.Code
	case json.Unmarshal(data, &reply) != nil:
		s.result = "undecodable"
	}
	return reply, s
}

func (l *lean) do(req *http.Request) (int, []byte, error) {
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, data, err
}

// runBundles holds a long poll of the namespace's bundle open, as every
// sidecar does, until the simulation ends.
func (l *lean) runBundles(ctx context.Context, p *leanPod) {
	if !sleep(jitter(l.interval), ctx.Done()) {
		return
	}
	known := ""
	for ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.url+ledgerapi.BundlePath+"?known="+url.QueryEscape(known), nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+p.pod.token)
		status, data, err := l.do(req)
		switch {
		case err == nil && status == http.StatusOK:
			var b ledgerapi.BundleReply
			if json.Unmarshal(data, &b) == nil {
				known = b.Hash
			}
		case err == nil && status == http.StatusNotModified:
		default:
			if !sleep(time.Second, ctx.Done()) {
				return
			}
		}
	}
}

// stopGrace bounds how long the sidecars may take to have their last
// batches acknowledged after stop.
const stopGrace = time.Minute

func (l *lean) stop(ctx context.Context) error {
	close(l.halt)
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-time.After(stopGrace):
		err = errors.New("the sidecars' last batches were not acknowledged within a minute")
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.cancel()
	<-done
	l.client.CloseIdleConnections()
	return err
}

func (l *lean) samples() []sample {
	var out []sample
	for _, p := range l.pods {
		out = append(out, p.samples...)
	}
	return out
}

func (l *lean) acknowledged() map[string]spend {
	out := map[string]spend{}
	for _, p := range l.pods {
		s := out[p.pod.policy]
		s.add(p.acked.usd, p.acked.requests)
		out[p.pod.policy] = s
	}
	return out
}

func (l *lean) notes() []string {
	var unsure proxyconfig.USD
	for _, p := range l.pods {
		unsure = unsure.Add(p.unsure)
	}
	if unsure.IsPositive() {
		return []string{fmt.Sprintf("lean sidecars: batches of %s USD were never acknowledged; the ledger may or may not have counted them", unsure)}
	}
	return nil
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
