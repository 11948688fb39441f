package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/portkey"
	"tollgate.dev/tollgate/bench/internal/report"
)

// standIn is a peer setup whose peer is the plain ReverseProxy again,
// started and called as the harness starts and calls Portkey (a port, a
// readiness path, a chat path of its own, headers), so that the peer's
// way through the harness runs without npm. wrap, if not nil, changes
// the command of the start-th start, from 1.
func standIn(chatPath string, wrap func(start int, path string, args []string) (string, []string)) peerSetup {
	return func(_ context.Context, b *bench) (*peer, error) {
		starts := 0
		return &peer{
			about: "plainproxy standing in for Portkey",
			command: func(port int) (string, []string) {
				starts++
				path, args := b.bins.PlainProxy, []string{"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--upstream", b.mock.URL}
				if wrap != nil {
					return wrap(starts, path, args)
				}
				return path, args
			},
			ready:  "/_mock/requests", // the mock's, through the proxy
			path:   chatPath,
			header: func(mockURL string) http.Header { return http.Header{"X-Stand-In-For": {"portkey " + mockURL}} },
		}, nil
	}
}

// peerRun is a tiny run with the peer on, smaller still: one of
// everything, which is all the peer's way through the harness needs.
func peerRun() Options {
	o := tinyRun()
	o.Peer = report.PeerPortkey
	o.Rates = []int{50}
	o.AnswerSizes = []int{2}
	o.UpstreamLatencies = []time.Duration{0}
	o.Rounds, o.StreamRounds = 1, 1
	o.Streams = 10
	return o
}

// failures are the notes that say something failed.
func failures(notes []string) []string {
	var out []string
	for _, n := range notes {
		if strings.Contains(n, "failed") {
			out = append(out, n)
		}
	}
	return out
}

func TestRun_APeerIsMeasuredInEveryPhaseAsAFourthTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sidecar, the mock and the ReverseProxy")
	}
	o := peerRun()
	var progress bytes.Buffer
	rep, err := run(t.Context(), o, &progress, standIn(chatPath, nil))
	require.NoError(t, err, "progress:\n%s", progress.String())

	assert.Equal(t, report.Peer{Name: report.PeerPortkey, About: "plainproxy standing in for Portkey"}, rep.Peer)
	require.Len(t, rep.Latency, len(o.Rates))
	for _, l := range rep.Latency {
		require.NotNil(t, l.Results.Portkey, "%d req/s", l.Rate)
		assert.Equal(t, l.Results.Sidecar.Sent, l.Results.Portkey.Sent, "%d req/s: the same schedule as the others", l.Rate)
		assert.Equal(t, l.Results.Portkey.Sent, l.Results.Portkey.OK, "%d req/s: %s", l.Rate, l.Results.Portkey.FirstError)
		require.NotNil(t, l.CPU.Portkey, "%d req/s", l.Rate)
	}
	for _, a := range rep.Answers {
		require.NotNil(t, a.Results.Portkey, "%d B", a.Bytes)
		assert.Equal(t, a.Results.Portkey.Sent, a.Results.Portkey.OK, "%d B: %s", a.Bytes, a.Results.Portkey.FirstError)
		assert.NotNil(t, a.CPU.Portkey, "%d B", a.Bytes)
	}
	for _, tp := range rep.Throughput {
		assert.NotNil(t, tp.Results.Portkey)
	}
	s := rep.Streams.Results.Portkey
	require.NotNil(t, s)
	assert.Equal(t, o.Streams*o.StreamRounds, s.Completed, s.FirstError)
	require.NotNil(t, rep.Streams.CPU.Portkey)
	require.NotNil(t, rep.Streams.Memory.Portkey)
	assert.Positive(t, rep.Streams.Memory.Portkey.HWM)
	require.NotNil(t, rep.Idle.Portkey)
	assert.Positive(t, rep.Idle.Portkey.RSS)

	for _, row := range rep.Table {
		if row.Sidecar != nil {
			assert.NotNil(t, row.Portkey, row.Measurement)
		}
	}
	assert.Empty(t, failures(rep.Notes))
	var md bytes.Buffer
	require.NoError(t, rep.WriteMarkdown(&md))
	assert.Contains(t, md.String(), "| sidecar | Portkey |")
	assert.Contains(t, progress.String(), "portkey ")
}

func TestRun_APeerThatFailsItsRequestsIsCountedAndShownAndTheRunGoesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sidecar, the mock and the ReverseProxy")
	}
	o := peerRun()
	var progress bytes.Buffer
	rep, err := run(t.Context(), o, &progress, standIn("/v1/no-such-path", nil)) // the mock answers 404
	require.NoError(t, err, "progress:\n%s", progress.String())

	assert.True(t, rep.Peer.Measured())
	for _, l := range rep.Latency {
		require.NotNil(t, l.Results.Portkey)
		assert.Equal(t, l.Results.Portkey.Sent, l.Results.Portkey.Errors, "%d req/s", l.Rate)
		assert.Contains(t, l.Results.Portkey.FirstError, "status 404")
		assert.Equal(t, l.Results.Sidecar.Sent, l.Results.Sidecar.OK, "%d req/s: the others as without the peer", l.Rate)
	}
	require.NotNil(t, rep.Streams.Results.Portkey)
	assert.Equal(t, o.Streams*o.StreamRounds, rep.Streams.Results.Portkey.Failed)
	assert.Contains(t, rep.Notes, fmt.Sprintf("%d req/s, Portkey: %d of %d requests failed, e.g. %s",
		o.Rates[0], rep.Latency[0].Results.Portkey.Errors, rep.Latency[0].Results.Portkey.Sent, rep.Latency[0].Results.Portkey.FirstError))
	assert.Len(t, rep.Targets, targetCount(o), "the targets as without the peer")
}

func TestRun_APeerThatCannotBeSetUpIsSkippedWithOneLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sidecar, the mock and the ReverseProxy")
	}
	o := peerRun()
	var progress bytes.Buffer
	noNPM := func(context.Context, *bench) (*peer, error) { return nil, portkey.ErrNoNPM }
	rep, err := run(t.Context(), o, &progress, noNPM)
	require.NoError(t, err, "progress:\n%s", progress.String())

	assert.Contains(t, progress.String(), "portkey: skipped: npm not found on PATH\n")
	assert.Equal(t, report.Peer{Name: report.PeerPortkey, Skipped: "npm not found on PATH"}, rep.Peer)
	assert.Nil(t, rep.Latency[0].Results.Portkey)
	assert.Nil(t, rep.Idle.Portkey)
	require.NotEmpty(t, rep.Notes)
	assert.Equal(t, "Portkey skipped: npm not found on PATH", rep.Notes[0])
}

func TestRun_APeerThatFailsLaterIsLostAndTheRunGoesOn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the sidecar, the mock and the ReverseProxy")
	}
	fails, err := exec.LookPath("false")
	if err != nil {
		t.Skip("no false(1) to fail the stand-in's second start with")
	}
	o := peerRun()
	var progress bytes.Buffer
	// The idle phase restarts the proxies: the stand-in does not come back.
	secondStartFails := func(start int, path string, args []string) (string, []string) {
		if start > 1 {
			return fails, nil
		}
		return path, args
	}
	rep, err := run(t.Context(), o, &progress, standIn(chatPath, secondStartFails))
	require.NoError(t, err, "progress:\n%s", progress.String())

	assert.True(t, rep.Peer.Measured(), "measured before it went")
	assert.Contains(t, rep.Peer.Lost, "in the idle phase: portkey exited before it was ready")
	assert.Contains(t, progress.String(), "portkey: lost in the idle phase, the run goes on without it: ")
	require.NotNil(t, rep.Throughput[0].Results.Portkey, "its values before it went")
	assert.Nil(t, rep.Idle.Portkey, "none after")
	assert.Nil(t, rep.Streams.Results.Portkey)
	for _, r := range named(rep.Streams.Results) {
		assert.Equal(t, o.Streams*o.StreamRounds, r.v.Completed, "%s: the others as without the peer", r.name)
	}
	assert.Contains(t, rep.Notes, "Portkey lost: "+rep.Peer.Lost+"; it has no values from there on")
}

func TestTargets_PortkeyGetsTheSameRequestWithTheHeadersItRoutesBy(t *testing.T) {
	b := &bench{mock: &fleet.Process{URL: "http://127.0.0.1:8089"}, rp: &fleet.Process{URL: "http://127.0.0.1:9001"}, sidecarURL: "http://127.0.0.1:9002"}
	assert.Nil(t, b.targets(chatBody).Portkey, "no peer, no request")

	b.peer = portkeyPeer(portkey.Gateway{Dir: "/tmp/pk", Node: "/usr/bin/node", NodeVersion: "v20.20.2"})
	assert.Nil(t, b.targets(chatBody).Portkey, "none before it runs")
	b.peerProc, b.peerURL = &fleet.Process{}, "http://127.0.0.1:9003"
	tg := b.targets(streamBody)
	require.NotNil(t, tg.Portkey)
	assert.Equal(t, "http://127.0.0.1:9003/v1/chat/completions", tg.Portkey.URL)
	assert.Equal(t, tg.Sidecar.Body, tg.Portkey.Body, "the same request as the others")
	assert.Equal(t, http.Header{"X-Portkey-Provider": {"openai"}, "X-Portkey-Custom-Host": {"http://127.0.0.1:8089/v1"}}, tg.Portkey.Header)
	assert.Nil(t, tg.Sidecar.Header, "the headers are the peer's only")

	list := b.targetList(chatBody)
	require.Len(t, list, 4)
	assert.Equal(t, target{name: namePortkey, req: *b.targets(chatBody).Portkey, proc: b.peerProc, peer: true}, list[3])
	assert.Equal(t, "@portkey-ai/gateway 1.15.2 on node v20.20.2", b.peer.about)
}
