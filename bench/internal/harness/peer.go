package harness

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/portkey"
	"tollgate.dev/tollgate/bench/internal/report"
)

// peer is the optional fourth target: a proxy of someone else's, started
// as its users start it and called as they call it. Whatever goes wrong
// with it is said and measured, and never stops the run: the targets are
// the sidecar's against the ReverseProxy.
type peer struct {
	// about says what runs, for the report.
	about string
	// command is the program and arguments that serve on the loopback
	// port, in the foreground, so that its pid is the server's.
	command func(port int) (path string, args []string)
	// ready is the path that answers 200 once it serves.
	ready string
	// path is its chat completions path.
	path string
	// header routes a request through it to the mock's OpenAI API at
	// mockURL.
	header func(mockURL string) http.Header
}

// peerSetup makes the peer b's options ask for ready to start: nil for
// none. An error says why the peer is skipped.
type peerSetup func(ctx context.Context, b *bench) (*peer, error)

// installPortkey is a real run's peerSetup: the Portkey gateway, installed
// with npm into the run's directory.
func installPortkey(ctx context.Context, b *bench) (*peer, error) {
	if b.o.Peer != report.PeerPortkey {
		return nil, nil
	}
	log, err := os.Create(filepath.Join(b.dir, "npm-install.log"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	g, err := portkey.Install(ctx, filepath.Join(b.dir, "portkey"), b.log, log)
	if err != nil {
		return nil, err
	}
	return portkeyPeer(g), nil
}

// portkeyPeer is the installed gateway g as the peer: called with the
// OpenAI path, routed to the mock's OpenAI API by headers.
func portkeyPeer(g portkey.Gateway) *peer {
	return &peer{
		about: g.About(), command: g.Command, ready: portkey.ReadyPath, path: portkey.ChatPath,
		header: func(mockURL string) http.Header { return portkey.Header(mockURL + "/v1") },
	}
}

// setUpPeer sets up the peer the options ask for, or says why it is
// skipped.
func (b *bench) setUpPeer(ctx context.Context, setup peerSetup) {
	b.peerStatus = report.Peer{Name: b.o.Peer}
	p, err := setup(ctx, b)
	switch {
	case err != nil:
		b.skipPeer(err)
	case p != nil:
		b.peer, b.peerStatus.About = p, p.about
	}
}

// startPeer starts the peer, pinned as the other proxies, and waits until
// it serves.
func (b *bench) startPeer(ctx context.Context) error {
	addr, err := fleet.FreeAddr()
	if err != nil {
		return err
	}
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return err
	}
	path, args := b.peer.command(port)
	proc, err := fleet.Start(ctx, fleet.Spec{Name: namePortkey, Path: path, Args: args, CPU: cpuProxy, Taskset: b.taskset, LogDir: b.dir})
	if err != nil {
		return err
	}
	url := "http://" + addr
	if err := proc.WaitReady(ctx, url+b.peer.ready, 30*time.Second); err != nil {
		proc.Stop()
		return err
	}
	b.peerProc, b.peerURL = proc, url
	return nil
}

// losePeer ends the peer's part in the run after err, in the phase
// running: skipped, if it had not been measured yet, else lost from here
// on. Once is enough: a peer already gone stays as it went.
func (b *bench) losePeer(err error) {
	if b.peer == nil {
		return
	}
	if b.peerProc != nil {
		b.peerProc.Stop()
		b.peerProc = nil
	}
	if !b.peerMeasured {
		b.skipPeer(err)
		return
	}
	b.logf("%s: lost in the %s phase, the run goes on without it: %v\n", namePortkey, b.phase, err)
	b.peerStatus.Lost = fmt.Sprintf("in the %s phase: %s", b.phase, firstLine(err))
	b.peer = nil
}

// skipPeer says why the peer is not measured at all.
func (b *bench) skipPeer(err error) {
	b.logf("%s: skipped: %v\n", namePortkey, err)
	b.peerStatus.Skipped = firstLine(err)
	b.peer = nil
}

// firstLine is the first line of err's message: what a report's note
// says, the rest (a log's tail) is in the progress output.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
