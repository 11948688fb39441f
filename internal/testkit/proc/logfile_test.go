package proc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogFile_TailAndAroundReadALargeFileInPieces(t *testing.T) {
	// A log larger than what fileTail reads, with a line longer than the
	// reader's buffer before the race report.
	filler := strings.Repeat(`{"msg":"request","status":200}`+"\n", 5000)
	long := strings.Repeat("x", 3*fileTailBytes) + "\n"
	path := filepath.Join(t.TempDir(), "big.log")
	require.NoError(t, os.WriteFile(path, []byte(filler+long+"==================\n"+RaceReport+"\nWrite at 0x1 by goroutine 7:\n"+filler+"last line\n"), 0o644))

	tests := map[string]struct {
		got, want string
	}{
		"the last lines":               {got: fileTail(path, 2), want: `{"msg":"request","status":200}` + "\nlast line"},
		"a race report past long line": {got: fileAround(path, RaceReport, 2), want: RaceReport + "\nWrite at 0x1 by goroutine 7:"},
		"nothing when it is not there": {got: fileAround(path, "panic:", 2), want: ""},
		"no file":                      {got: fileAround(filepath.Join(t.TempDir(), "none"), RaceReport, 2), want: ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got)
		})
	}
	assert.Contains(t, fileTail(filepath.Join(t.TempDir(), "none"), 2), "(no log: ")
}
