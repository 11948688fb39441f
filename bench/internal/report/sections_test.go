package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/bench/internal/fleet"
)

func TestMachineLine_SaysTheMachineAndItsLoadWithoutAFullStop(t *testing.T) {
	m := fleet.Machine{CPU: "AMD EPYC", Cores: 2, Go: "go1.26.8", Kernel: "linux 6.1", LoadAvg: "0.5 0.4 0.3"}
	assert.Equal(t, "Machine: AMD EPYC, 2 cores, go1.26.8, linux 6.1 (load average 0.5 0.4 0.3 at the start)", MachineLine(m))
}

func TestWriteTargets_HeadsTheMeasuredColumnAsTheBenchmarkSays(t *testing.T) {
	var b strings.Builder
	WriteTargets(&b, "Measured", []Target{{Name: "a bound", Value: "1 of 2", Met: true}, {Name: "another", Value: "3 of 2"}})
	assert.Equal(t, "\n| Target | Measured | Met |\n|---|---|:-:|\n| a bound | 1 of 2 | yes |\n| another | 3 of 2 | no |\n", b.String())
}

func TestWriteNotes_WritesNothingWithoutNotes(t *testing.T) {
	var b strings.Builder
	WriteNotes(&b, nil)
	assert.Empty(t, b.String())
	WriteNotes(&b, []string{"one failed"})
	assert.Equal(t, "\nNotes:\n- one failed\n", b.String())
}

func TestWriteJSON_IndentsAndEndsWithANewline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b.json")
	require.NoError(t, WriteJSON(path, map[string]int{"schema": 1}))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "{\n  \"schema\": 1\n}\n", string(data))
}
