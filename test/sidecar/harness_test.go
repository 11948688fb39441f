package sidecare2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/mockprovider"
)

// policyHead is an LLMPolicy whose providers point at MOCK, the mock
// provider's URL; tests append spec blocks.
const policyHead = `
apiVersion: tollgate.dev/v1alpha1
kind: LLMPolicy
metadata: {name: e2e, namespace: team-a}
spec:
  providers:
    - {name: openai, type: OpenAI, baseURL: MOCK}
    - {name: claude, type: Anthropic, baseURL: MOCK}
`

// policyRef is the policy policyHead names, as x-tollgate-policy shows it.
const policyRef = "team-a/e2e"

// startWait bounds how long a sidecar may take to start and be ready.
const startWait = 15 * time.Second

// sidecar is one running tollgate-sidecar process.
type sidecar struct {
	t *testing.T
	// url is the proxy's base URL, e.g. http://127.0.0.1:41234.
	url string
	// admin is the admin server's base URL.
	admin string
	// policyFile is the --policy file.
	policyFile string
	logs       *logBuffer
	// exited is closed when the process has ended; exit is its state,
	// readable once exited is closed.
	exited chan struct{}
	exit   *os.ProcessState
	// mayExit is set by tests of a refused start: the process ending on
	// its own is then what they check, not a failure.
	mayExit bool
	// cancel sends the process SIGTERM (SIGKILL 10s later).
	cancel context.CancelFunc
}

// sigterm asks the sidecar to shut down, as the kubelet does.
func (s *sidecar) sigterm() {
	s.mayExit = true
	s.cancel()
}

// startMock starts the mock provider in-process.
func startMock(t *testing.T) *mockprovider.Server {
	t.Helper()
	mock, err := mockprovider.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = mock.Close() })
	return mock
}

// startWithSpec starts a sidecar enforcing policyHead plus spec, with the
// providers pointing at mock.
func startWithSpec(t *testing.T, mock *mockprovider.Server, spec string, args ...string) *sidecar {
	t.Helper()
	return startWithPolicy(t, withMock(policyHead+spec, mock), args...)
}

// withMock puts mock's URL where policy says MOCK.
func withMock(policy string, mock *mockprovider.Server) string {
	return strings.ReplaceAll(policy, "MOCK", mock.URL())
}

// startWithPolicy writes policy to a file and starts a sidecar on it.
func startWithPolicy(t *testing.T, policy string, args ...string) *sidecar {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeAtomically(t, path, policy)
	return startSidecar(t, path, args...)
}

// startSidecar starts the binary on the policy file path, on free loopback
// ports, and waits until it is ready. The process is stopped with SIGTERM
// at the end of the test, which fails if the process did not exit cleanly
// or reported a data race; its log is shown when the test failed.
func startSidecar(t *testing.T, path string, args ...string) *sidecar {
	t.Helper()
	s := launch(t, path, args...)
	s.waitStarted()
	s.waitReady()
	return s
}

// launch starts the binary without waiting for it.
func launch(t *testing.T, path string, args ...string) *sidecar {
	t.Helper()
	s := &sidecar{t: t, policyFile: path, logs: &logBuffer{}, exited: make(chan struct{})}
	argv := append([]string{
		"--policy", path,
		// Port 0: the kernel picks free ports, and the sidecar logs them.
		"--listen", "127.0.0.1:0",
		"--admin", "127.0.0.1:0",
		"--shutdown-grace", "2s",
	}, args...)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	cmd := exec.CommandContext(ctx, sidecarBin, argv...)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	// The race detector sleeps a second at exit unless told not to.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second // then SIGKILL
	require.NoError(t, cmd.Start())
	go func() {
		_ = cmd.Wait() // an error after SIGTERM is only the context's; the state says how it ended
		s.exit = cmd.ProcessState
		close(s.exited)
	}()
	t.Cleanup(func() {
		early := false
		select {
		case <-s.exited:
			early = true
		default:
		}
		cancel()
		<-s.exited
		out := s.logs.String()
		if strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("the sidecar reported a data race")
		}
		switch {
		case early && !s.mayExit:
			t.Errorf("the sidecar exited during the test: %v", s.exit)
		case !early && s.exit.ExitCode() != 0:
			t.Errorf("the sidecar did not exit cleanly on SIGTERM: %v", s.exit)
		}
		if t.Failed() {
			t.Logf("sidecar log (%s %s):\n%s", sidecarBin, strings.Join(argv, " "), out)
		}
	})
	return s
}

// waitStarted reads the proxy and admin addresses from the start log line.
func (s *sidecar) waitStarted() {
	s.t.Helper()
	deadline := time.Now().Add(startWait)
	for time.Now().Before(deadline) {
		for _, l := range s.logs.lines() {
			if l["msg"] == "tollgate-sidecar started" {
				s.url = "http://" + l["listen"].(string)
				s.admin = "http://" + l["admin"].(string)
				return
			}
		}
		select {
		case <-s.exited:
			s.t.Fatalf("the sidecar exited before it started: %v\n%s", s.exit, s.logs)
		case <-time.After(10 * time.Millisecond):
		}
	}
	s.t.Fatalf("the sidecar did not log its start within %s", startWait)
}

func (s *sidecar) waitReady() {
	s.t.Helper()
	require.Eventually(s.t, func() bool {
		resp, err := http.Get(s.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, startWait, 10*time.Millisecond, "the sidecar never became ready")
}

// get fetches an admin path and returns its body.
func (s *sidecar) get(path string) string {
	s.t.Helper()
	body, err := s.fetch(path)
	require.NoError(s.t, err)
	return body
}

// fetch is get for polls, which run outside the test's goroutine.
func (s *sidecar) fetch(path string) (string, error) {
	resp, err := http.Get(s.admin + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b), nil
}

// writePolicy replaces the policy file atomically, as an editor or a
// deployment tool does.
func (s *sidecar) writePolicy(content string) {
	s.t.Helper()
	writeAtomically(s.t, s.policyFile, content)
}

func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, []byte(content), 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// logBuffer collects the process's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the JSON log lines written so far; other output (a race
// report, a fatal error) is skipped.
func (b *logBuffer) lines() []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(b.String(), "\n") {
		var l map[string]any
		if json.Unmarshal([]byte(line), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// requestLog waits for the "request" log line of the request with id.
func (s *sidecar) requestLog(id string) map[string]any {
	s.t.Helper()
	var found map[string]any
	require.Eventually(s.t, func() bool {
		for _, l := range s.logs.lines() {
			if l["msg"] == "request" && l["request_id"] == id {
				found = l
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "no request log line for request %s", id)
	return found
}
