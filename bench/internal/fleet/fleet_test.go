package fleet

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const status = `Name:	sidecar
Umask:	0022
State:	S (sleeping)
VmPeak:	 1261456 kB
VmHWM:	   21504 kB
VmRSS:	   15088 kB
Threads:	7
`

func TestParseStatus_ReadsVmRSSAndVmHWM(t *testing.T) {
	m, err := parseStatus("status", bufio.NewScanner(strings.NewReader(status)))
	require.NoError(t, err)
	assert.Equal(t, Memory{RSS: 15088, HWM: 21504}, m)
	assert.InDelta(t, 14.73, MiB(m.RSS), 0.01)
}

func TestParseStatus_SaysWhatIsMissingOrMalformed(t *testing.T) {
	tests := map[string]struct {
		status  string
		wantErr string
	}{
		"a kernel thread has no memory lines": {status: "Name:\tkthreadd\nState:\tS\n", wantErr: "no VmRSS and VmHWM"},
		"a value without its unit":            {status: "VmHWM:\t1\nVmRSS:\t2\n", wantErr: "expected a number of kB"},
		"a value that is not a number":        {status: "VmHWM:\tx kB\nVmRSS:\t2 kB\n", wantErr: "VmHWM"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseStatus("status", bufio.NewScanner(strings.NewReader(tc.status)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestReadMemory_OfThisProcessIsPositive(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	require.NoError(t, err)
	assert.Positive(t, m.RSS)
	assert.GreaterOrEqual(t, m.HWM, m.RSS)
}

func TestParseStat_AddsUserAndSystemTimeAfterTheCommandName(t *testing.T) {
	// utime 150 and stime 25 ticks; the command name holds a space and a
	// parenthesis, as names may.
	stat := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 7 0 123 456 789"
	d, err := parseStat("stat", stat)
	require.NoError(t, err)
	assert.Equal(t, 1750*time.Millisecond, d)
}

func TestParseStat_RefusesATruncatedLine(t *testing.T) {
	_, err := parseStat("stat", "4242 (x) S 1 2")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fields after the command name")
}

func TestCPUTime_OfThisProcessGrowsWithWork(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	require.NoError(t, err)
	// Burn CPU until the counter moves: the test asserts only that it
	// moves forward, however long that takes.
	x := 0
	for after := before; after == before; after, _ = CPUTime(os.Getpid()) {
		for i := range 1_000_000 {
			x += i
		}
	}
	after, err := CPUTime(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, after, before)
	_ = x
}

func TestCPUModel_IsTheFirstModelName(t *testing.T) {
	info := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC  7B13 64-Core Processor\n\nprocessor\t: 1\nmodel name\t: other\n"
	assert.Equal(t, "AMD EPYC 7B13 64-Core Processor", cpuModel(info))
	assert.Empty(t, cpuModel("processor\t: 0\n"))
}

func TestFindRoot_FindsTheModuleFromASubdirectory(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(root, "go.mod"), []byte("// comment\nmodule tollgate.dev/tollgate\n\ngo 1.26\n"), 0o644))
	sub := filepath.Join(root, "bench", "internal")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	got, err := FindRoot(sub)
	require.NoError(t, err)
	assert.Equal(t, root, got)
}

func TestFindRoot_SaysWhatToDoOutsideTheRepository(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/other\n"), 0o644))
	_, err := FindRoot(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-repo")
}

func TestStart_ReportsAProgramThatExitsBeforePrintingItsURL(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "fails.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho 'bad flag --x' >&2\nexit 3\n"), 0o755))
	_, err := Start(t.Context(), Spec{Name: "fails", Path: script, CPU: NoCPU, LogDir: dir, PrintsURL: true})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "fails exited before printing its URL")
	assert.Contains(t, err.Error(), "bad flag --x", "the end of its log")
}

func TestStart_ReadsThePrintedURLAndStops(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "serves.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/sh\necho http://127.0.0.1:1234\nexec sleep 60\n"), 0o755))
	spec := Spec{Name: "serves", Path: script, CPU: NoCPU, LogDir: dir, PrintsURL: true}
	if ts := Taskset(); ts != "" {
		spec.CPU, spec.Taskset = 0, ts
	}
	p, err := Start(t.Context(), spec)
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	assert.Equal(t, "http://127.0.0.1:1234", p.URL)
	assert.Equal(t, spec.Taskset != "", p.Pinned)
	m, err := p.Memory()
	require.NoError(t, err)
	assert.Positive(t, m.RSS)
	p.Stop()
	_, err = p.Memory()
	require.Error(t, err, "a stopped process has no memory to read")
}
