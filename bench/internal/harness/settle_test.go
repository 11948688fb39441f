package harness

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
)

// spinner starts this test binary as a process that spins on a CPU until
// the file stop exists, then sleeps (TestHelperSpin).
func spinner(t *testing.T, stop string) *fleet.Process {
	t.Helper()
	p, err := fleet.Start(context.Background(), fleet.Spec{
		Name: "spinner", Path: os.Args[0], Args: []string{"-test.run=^TestHelperSpin$"},
		Env: []string{spinEnv + "=" + stop}, CPU: fleet.NoCPU, LogDir: t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	return p
}

const spinEnv = "TOLLGATE_HARNESS_SPIN_UNTIL"

// TestHelperSpin is the process spinner starts; it does nothing in a test
// run.
func TestHelperSpin(t *testing.T) {
	stop := os.Getenv(spinEnv)
	if stop == "" {
		t.Skip("a helper process of TestSettle_WaitsUntilTheProxiesAreIdle")
	}
	for n := 0; ; n++ {
		if n%1_000_000 == 0 {
			if _, err := os.Stat(stop); err == nil {
				break
			}
		}
	}
	time.Sleep(time.Minute)
}

func TestSettle_WaitsUntilTheProxiesAreIdle(t *testing.T) {
	var log bytes.Buffer
	// A long window: the spinner stays busy (over settleBusy in it) even
	// on a loaded machine.
	b := &bench{o: Options{TurnSettle: 300 * time.Millisecond}, log: &log}
	stop := filepath.Join(t.TempDir(), "stop")
	targets := []target{{name: "direct"}, {name: "spinner", proc: spinner(t, stop)}}

	settled := make(chan struct{})
	go func() {
		b.settle(targets)
		close(settled)
	}()
	select {
	case <-settled:
		t.Fatal("settled while the spinner was busy")
	case <-time.After(1500 * time.Millisecond):
	}
	require.NoError(t, os.WriteFile(stop, nil, 0o600))
	select {
	case <-settled:
	case <-time.After(5 * time.Second):
		t.Fatal("not settled once the spinner was idle")
	}
	assert.Empty(t, log.String(), "within settleMax: nothing to say")

	b.o.TurnSettle = 0
	start := time.Now()
	b.settle(targets)
	assert.Less(t, time.Since(start), 100*time.Millisecond, "0: no wait")
}
