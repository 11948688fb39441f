package proc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
)

// FirstLine waits for the first line the program printed on stdout, with
// [Spec.FirstLine], and returns it without surrounding space. It fails
// with [ErrExited] when the process ends first, and with ctx's error when
// ctx ends first.
func (p *Process) FirstLine(ctx context.Context) (string, error) {
	if p.firstLine == nil {
		return "", fmt.Errorf("%s was not started with Spec.FirstLine", p.name)
	}
	select {
	case line := <-p.firstLine:
		p.firstLine <- line // for the next caller
		return line, nil
	case <-p.exited:
		// The line is sent before the process counts as ended: a program
		// that printed it and exited at once still has it read.
		select {
		case line := <-p.firstLine:
			p.firstLine <- line
			return line, nil
		default:
			return "", fmt.Errorf("%s %w before printing its first line: %v", p.name, ErrExited, p.state)
		}
	case <-ctx.Done():
		return "", fmt.Errorf("%s printed no first line: %w", p.name, ctx.Err())
	}
}

// firstLineWriter passes stdout on to next and sends the first line to
// line. exec calls Write from one goroutine.
type firstLineWriter struct {
	next    io.Writer
	line    chan<- string // buffered for one
	partial []byte        // the first line so far; nil once sent
	sent    bool
}

func (w *firstLineWriter) Write(p []byte) (int, error) {
	if !w.sent {
		w.partial = append(w.partial, p...)
		if i := bytes.IndexByte(w.partial, '\n'); i >= 0 {
			w.line <- strings.TrimSpace(string(w.partial[:i]))
			w.partial, w.sent = nil, true
		}
	}
	return w.next.Write(p)
}
