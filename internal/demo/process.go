package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a process may take to exit after SIGTERM before
// it is killed.
const stopGrace = 10 * time.Second

// raceEnv keeps a binary built with the race detector from sleeping a
// second at exit.
const raceEnv = "GORACE=atexit_sleep_ms=0"

// raceReport is how the race detector starts its report.
const raceReport = "WARNING: DATA RACE"

// process is one binary the demo started. Its output is kept for the
// narration of a failure, and copied to a shared sink when there is one.
type process struct {
	name string
	cmd  *exec.Cmd
	logs *logBuffer
	// exited is closed once the process has ended; state is readable from
	// then on.
	exited chan struct{}
	state  *os.ProcessState
	// stopped is set by stop, before it signals: the process ending is
	// then expected.
	stopped bool
}

// startProcess starts path with args and env added to the demo's own
// environment. The process gets its own process group, so that a Ctrl-C
// in the terminal reaches only the demo, which then stops its processes
// in order.
func startProcess(name, path string, args, env []string, sink *logSink) (*process, error) {
	p := &process{name: name, logs: &logBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	var out io.Writer = p.logs
	if sink != nil {
		out = io.MultiWriter(p.logs, sink.prefixed(name))
	}
	// The same writer for both: exec copies them from one pipe, in order.
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = ownProcessGroup()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, path, err)
	}
	p.cmd = cmd
	go func() {
		_ = cmd.Wait() // the state says how it ended
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

// running reports an error when the process has already ended.
func (p *process) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited: %v\n%s", p.name, p.state, p.logs.tail(15))
	default:
		return nil
	}
}

// stop sends SIGTERM, waits for the process to end (killing it after
// stopGrace) and reports an exit that was not clean, or a race report in
// its output.
func (p *process) stop() error {
	if p == nil {
		return nil
	}
	early := p.running() != nil
	p.stopped = true
	if !early {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(stopGrace):
			_ = p.cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("%s did not exit within %s of SIGTERM and was killed", p.name, stopGrace)
		}
	}
	var errs []error
	if early {
		errs = append(errs, fmt.Errorf("%s had exited before the end of the demo: %v", p.name, p.state))
	} else if !p.state.Success() {
		errs = append(errs, fmt.Errorf("%s did not exit cleanly on SIGTERM: %v\n%s", p.name, p.state, p.logs.tail(15)))
	}
	if strings.Contains(p.logs.String(), raceReport) {
		errs = append(errs, fmt.Errorf("%s reported a data race:\n%s", p.name, p.logs.around(raceReport, 40)))
	}
	return errors.Join(errs...)
}

// logBuffer keeps a process's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the last n lines of output.
func (b *logBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// around is n lines of output from the first line holding s.
func (b *logBuffer) around(s string, n int) string {
	out := b.String()
	i := strings.Index(out, s)
	if i < 0 {
		return ""
	}
	lines := strings.Split(out[i:], "\n")
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

// logSink copies the output of every process to one writer, line by line
// with the process's name in front, so lines of two processes never mix.
type logSink struct {
	mu  sync.Mutex // guards out
	out io.Writer
}

// prefixed returns a writer for the process name.
func (s *logSink) prefixed(name string) io.Writer {
	return &prefixWriter{sink: s, prefix: name + " | "}
}

// prefixWriter is one process's writer into a logSink. exec writes a
// process's output from one goroutine, so partial is not shared.
type prefixWriter struct {
	sink    *logSink
	prefix  string
	partial []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.sink.mu.Lock()
		_, err := fmt.Fprintf(w.sink.out, "%s%s\n", w.prefix, w.partial[:i])
		w.sink.mu.Unlock()
		w.partial = w.partial[i+1:]
		if err != nil {
			return len(p), err
		}
	}
}
