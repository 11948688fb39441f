package proc

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
)

// fileTailBytes is how much of the end of a log file fileTail reads: a
// benchmark's log runs to hundreds of megabytes.
const fileTailBytes = 64 << 10

// fileTail is the last n lines of the file at path, read from its end.
func fileTail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	cut := false
	if st, err := f.Stat(); err == nil && st.Size() > fileTailBytes {
		_, _ = f.Seek(-fileTailBytes, io.SeekEnd)
		cut = true
	}
	b, _ := io.ReadAll(f)
	text := string(b)
	if cut {
		// The read began inside a line.
		_, text, _ = strings.Cut(text, "\n")
	}
	return tail(text, n)
}

// fileAround is n lines of the file at path from the first occurrence of
// s on, or "" when s is not in it. It reads a line at a time, so that a
// large log costs no more memory than its longest line (a race report's
// first line is short and begins a line, so a long line cut in pieces
// does not hide it).
func fileAround(path, s string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, fileTailBytes)
	for {
		line, err := r.ReadSlice('\n')
		if i := bytes.Index(line, []byte(s)); i >= 0 {
			var b strings.Builder
			b.Write(line[i:])
			for range n - 1 {
				more, err := r.ReadString('\n')
				b.WriteString(more)
				if err != nil {
					break
				}
			}
			return around(b.String(), s, n)
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return ""
		}
	}
}
