package proc

import (
	"bytes"
	"fmt"
	"io"
	"sync"
)

// Sink copies the output of several processes to one writer, a line at a
// time with the process's name in front, so that lines of two processes
// never mix. It is safe for concurrent use.
type Sink struct {
	mu  sync.Mutex // guards out, and the partial lines of its writers
	out io.Writer
}

// NewSink returns a Sink writing to out.
func NewSink(out io.Writer) *Sink {
	return &Sink{out: out}
}

// Prefixed returns the writer for the process name, for [Spec.Output].
func (s *Sink) Prefixed(name string) io.Writer {
	return &prefixWriter{sink: s, prefix: name + " | "}
}

// prefixWriter is one process's writer into a Sink. It holds the sink's
// lock for a whole Write, since exec copies stdout and stderr from two
// goroutines when they are different writers.
type prefixWriter struct {
	sink    *Sink
	prefix  string
	partial []byte // the line written so far, without its end; guarded by sink.mu
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.sink.mu.Lock()
	defer w.sink.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		_, err := fmt.Fprintf(w.sink.out, "%s%s\n", w.prefix, w.partial[:i])
		w.partial = w.partial[i+1:]
		if err != nil {
			return len(p), err
		}
	}
}
