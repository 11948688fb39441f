package sidecare2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/internal/testkit/jsonlog"
	"tollgate.dev/tollgate/internal/testkit/mockprovider"
	"tollgate.dev/tollgate/internal/testkit/proc"
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
	// process is the running binary; logs is its output.
	process *proc.Process
	logs    *proc.Log
	// mayExit is set by tests of a refused start: the process ending on
	// its own is then what they check, not a failure.
	mayExit bool
}

// stopGrace is how long the sidecar may take to exit after SIGTERM at the
// end of a test before it is killed.
const stopGrace = 10 * time.Second

// sigterm asks the sidecar to shut down, as the kubelet does. The test's
// end then checks that it exited cleanly.
func (s *sidecar) sigterm() {
	s.process.Terminate()
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
	return launchVia(t, nil, path, args...)
}

// startVia is startSidecar with the binary started by the command wrapper
// (e.g. a shell that sets a resource limit, then execs the binary given
// as its last argument, with the sidecar's arguments after it). The
// wrapper must exec the binary, so that the process the test signals is
// the sidecar.
func startVia(t *testing.T, wrapper []string, path string, args ...string) *sidecar {
	t.Helper()
	s := launchVia(t, wrapper, path, args...)
	s.waitStarted()
	s.waitReady()
	return s
}

// launchVia is launch through a wrapper; nil runs the binary itself.
func launchVia(t *testing.T, wrapper []string, path string, args ...string) *sidecar {
	t.Helper()
	argv := append([]string{
		"--policy", path,
		// Port 0: the kernel picks free ports, and the sidecar logs them.
		"--listen", "127.0.0.1:0",
		"--admin", "127.0.0.1:0",
		"--shutdown-grace", "2s",
	}, args...)
	bin, binArgs := sidecarBin, argv
	if len(wrapper) > 0 {
		bin, binArgs = wrapper[0], append(append(slices.Clone(wrapper[1:]), sidecarBin), argv...)
	}
	// The race detector sleeps a second at exit unless told not to.
	p, err := proc.Start(proc.Spec{Name: "sidecar", Path: bin, Args: binArgs, Env: []string{proc.RaceEnv}})
	require.NoError(t, err)
	s := &sidecar{t: t, policyFile: path, process: p, logs: p.Log()}
	t.Cleanup(func() {
		err := p.Stop(stopGrace)
		if errors.Is(err, proc.ErrDataRace) {
			t.Errorf("the sidecar reported a data race")
		}
		switch {
		case errors.Is(err, proc.ErrExitedEarly) && !s.mayExit:
			t.Errorf("the sidecar exited during the test: %v", p.State())
		case errors.Is(err, proc.ErrUncleanExit), errors.Is(err, proc.ErrKilled):
			t.Errorf("the sidecar did not exit cleanly on SIGTERM: %v", p.State())
		}
		// Every JSON line has each key once, whatever the test did.
		for _, problem := range jsonlog.Check(s.logs.String(), jsonlog.Options{}) {
			t.Errorf("sidecar log: %s", problem)
		}
		if t.Failed() {
			t.Logf("sidecar log (%s %s):\n%s", sidecarBin, strings.Join(argv, " "), s.logs)
		}
	})
	return s
}

// waitStarted reads the proxy and admin addresses from the start log line.
func (s *sidecar) waitStarted() {
	s.t.Helper()
	deadline := time.Now().Add(startWait)
	for time.Now().Before(deadline) {
		for _, l := range s.logs.JSONLines() {
			if l["msg"] == "tollgate-sidecar started" {
				s.url = "http://" + l["listen"].(string)
				s.admin = "http://" + l["admin"].(string)
				return
			}
		}
		select {
		case <-s.process.Exited():
			s.t.Fatalf("the sidecar exited before it started: %v\n%s", s.process.State(), s.logs)
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

// requestLog waits for the "request" log line of the request with id.
func (s *sidecar) requestLog(id string) map[string]any {
	s.t.Helper()
	var found map[string]any
	require.Eventually(s.t, func() bool {
		for _, l := range s.logs.JSONLines() {
			if l["msg"] == "request" && l["request_id"] == id {
				found = l
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "no request log line for request %s", id)
	return found
}
