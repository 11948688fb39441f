package proc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStop_ReportsWhatATestShouldFailOn(t *testing.T) {
	tests := map[string]struct {
		role string
		// waitExit lets the process end on its own before Stop.
		waitExit   bool
		grace      time.Duration
		wantErrs   []error
		wantInErr  []string
		wantNoErrs []error
	}{
		"a clean exit on SIGTERM is no error": {
			role: "serves", grace: 10 * time.Second,
		},
		"a failure after SIGTERM, with the end of the output": {
			role: "fails-on-sigterm", grace: 10 * time.Second,
			wantErrs: []error{ErrUncleanExit}, wantInErr: []string{"exit status 3", "could not flush"},
			wantNoErrs: []error{ErrExitedEarly, ErrDataRace},
		},
		"an exit before Stop": {
			role: "exits", waitExit: true, grace: 10 * time.Second,
			wantErrs: []error{ErrExitedEarly}, wantInErr: []string{"exit status 2"},
			wantNoErrs: []error{ErrUncleanExit},
		},
		"a race report, though the exit is clean": {
			role: "races", grace: 10 * time.Second,
			wantErrs: []error{ErrDataRace}, wantInErr: []string{RaceReport + "\nWrite at 0x00c000012345 by goroutine 7:"},
			wantNoErrs: []error{ErrUncleanExit},
		},
		"a process that outlives the grace is killed": {
			role: "ignores-sigterm", grace: 200 * time.Millisecond,
			wantErrs: []error{ErrKilled}, wantInErr: []string{"did not exit within 200ms of SIGTERM"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := startHelper(t, tc.role, Spec{})
			if tc.waitExit {
				<-p.Exited()
			} else {
				waitReady(t, p)
				require.NoError(t, p.Err(), "the helper is still running")
			}

			err := p.Stop(tc.grace)

			if len(tc.wantErrs) == 0 {
				require.NoError(t, err)
			}
			for _, want := range tc.wantErrs {
				require.ErrorIs(t, err, want)
			}
			for _, s := range tc.wantInErr {
				assert.Contains(t, err.Error(), s)
			}
			for _, notWant := range tc.wantNoErrs {
				assert.NotErrorIs(t, err, notWant)
			}
			assert.NotNil(t, p.State())
			assert.True(t, p.Stopped())
		})
	}
}

func TestStop_AfterTerminateExpectsTheExitAndChecksItsCode(t *testing.T) {
	p := startHelper(t, "fails-on-sigterm", Spec{})
	waitReady(t, p)
	p.Terminate()
	<-p.Exited()

	err := p.Stop(time.Second)

	require.ErrorIs(t, err, ErrUncleanExit)
	assert.NotErrorIs(t, err, ErrExitedEarly, "the exit was asked for")
}

func TestErr_IsNilWhileRunningThenSaysHowItEnded(t *testing.T) {
	p := startHelper(t, "exits", Spec{})
	<-p.Exited()
	err := p.Err()
	require.ErrorIs(t, err, ErrExited)
	assert.Contains(t, err.Error(), "exits exited: exit status 2\n")
	assert.Contains(t, err.Error(), "bad flag --x", "the end of its output")
	assert.Equal(t, 2, p.State().ExitCode())
}

func TestStart_KeepsTheOutputAndCopiesItToOutput(t *testing.T) {
	var merged bytes.Buffer
	sink := NewSink(&merged)
	p := startHelper(t, "serves", Spec{Output: sink.Prefixed("srv"), FirstLine: true})
	waitReady(t, p)
	_, err := p.FirstLine(t.Context())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(p.Log().JSONLines()) == 1 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, p.Stop(10*time.Second))

	assert.Equal(t, "started", p.Log().JSONLines()[0]["msg"])
	assert.Contains(t, p.Log().String(), "http://127.0.0.1:1234\n")
	assert.ElementsMatch(t, []string{"srv | ready", "srv | http://127.0.0.1:1234", `srv | {"msg":"started"}`},
		strings.Split(strings.TrimSpace(merged.String()), "\n"))
}

func TestFirstLine_ReadsWhatTheProgramPrintsFirstOnStdout(t *testing.T) {
	spec := Spec{FirstLine: true}
	if ts, err := exec.LookPath("taskset"); err == nil {
		spec.Taskset, spec.CPU = ts, 0
	}
	p := startHelper(t, "serves", spec)
	line, err := p.FirstLine(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1234", line, "stderr's lines do not count")
	again, err := p.FirstLine(t.Context())
	require.NoError(t, err)
	assert.Equal(t, line, again, "a second caller gets it too")
	assert.Equal(t, spec.Taskset != "", p.Pinned())
	require.NoError(t, p.Stop(10*time.Second))
}

func TestFirstLine_FailsWhenTheProgramExitsOrTheContextEnds(t *testing.T) {
	p := startHelper(t, "exits", Spec{FirstLine: true})
	_, err := p.FirstLine(t.Context())
	require.ErrorIs(t, err, ErrExited)

	p = startHelper(t, "ignores-sigterm", Spec{FirstLine: true})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = p.FirstLine(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	p = startHelper(t, "exits", Spec{})
	_, err = p.FirstLine(t.Context())
	require.ErrorContains(t, err, "not started with Spec.FirstLine")
}

func TestStart_WithALogFileTheProgramWritesItAndStopReadsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "races.log")
	p := startHelper(t, "races", Spec{LogFile: path})
	waitReady(t, p)
	assert.Nil(t, p.Log(), "the output is not kept in memory")

	err := p.Stop(10 * time.Second)

	require.ErrorIs(t, err, ErrDataRace)
	assert.Contains(t, err.Error(), RaceReport+"\nWrite at 0x00c000012345")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), RaceReport)
	assert.Equal(t, "  main.main()", p.Tail(1))
}

func TestStart_WithALogFileAndFirstLineLogsBothStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serves.log")
	p := startHelper(t, "serves", Spec{LogFile: path, FirstLine: true})
	waitReady(t, p)
	line, err := p.FirstLine(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:1234", line)
	require.NoError(t, p.Stop(10*time.Second))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Contains(t, string(data), "http://127.0.0.1:1234\n")
	assert.Contains(t, string(data), `{"msg":"started"}`)
}

func TestStart_SaysWhatCouldNotStart(t *testing.T) {
	_, err := Start(Spec{Name: "ghost", Path: filepath.Join(t.TempDir(), "missing")})
	require.ErrorContains(t, err, "start ghost (")
	_, err = Start(Spec{Name: "ghost", Path: "true", LogFile: filepath.Join(t.TempDir(), "no", "such", "dir.log")})
	require.ErrorContains(t, err, "start ghost:")
}
