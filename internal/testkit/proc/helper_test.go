package proc

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// helperEnv makes the test binary, started by a test, act as the program
// named by its value instead of running the tests.
const helperEnv = "PROC_TEST_HELPER"

func TestMain(m *testing.M) {
	if role := os.Getenv(helperEnv); role != "" {
		os.Exit(helper(role))
	}
	os.Exit(m.Run())
}

// helper plays one program for the tests and returns its exit code.
func helper(role string) int {
	term := make(chan os.Signal, 1)
	if role == "ignores-sigterm" {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	// From here on, SIGTERM is handled: see waitReady.
	fmt.Fprintln(os.Stderr, "ready")
	switch role {
	case "serves": // prints its URL, logs to stderr, exits 0 on SIGTERM
		fmt.Println("http://127.0.0.1:1234")
		fmt.Fprintln(os.Stderr, `{"msg":"started"}`)
		<-term
		return 0
	case "races": // what the race detector prints, then a clean exit
		fmt.Fprintln(os.Stderr, "==================\n"+RaceReport+"\nWrite at 0x00c000012345 by goroutine 7:\n  main.main()")
		<-term
		return 0
	case "fails-on-sigterm":
		<-term
		fmt.Fprintln(os.Stderr, "could not flush")
		return 3
	case "exits":
		fmt.Fprintln(os.Stderr, "bad flag --x")
		return 2
	case "ignores-sigterm":
		time.Sleep(time.Minute)
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown helper role", role)
	return 99
}

// startHelper starts the test binary as the helper role and stops it at
// the end of the test.
func startHelper(t *testing.T, role string, spec Spec) *Process {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	spec.Name, spec.Path = role, self
	spec.Env = append(spec.Env, helperEnv+"="+role, RaceEnv)
	p, err := Start(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(time.Second) })
	return p
}

// waitReady waits until the helper handles SIGTERM, so that a test's
// signal does not meet Go's default handler.
func waitReady(t *testing.T, p *Process) {
	t.Helper()
	require.Eventually(t, func() bool { return p.Around("ready", 1) != "" || p.State() != nil },
		10*time.Second, 5*time.Millisecond, "the helper did not start")
}
