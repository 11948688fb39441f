package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// RaceEnv keeps a program built with -race from sleeping a second at exit;
// add it to [Spec.Env].
const RaceEnv = "GORACE=atexit_sleep_ms=0"

// RaceReport is how the race detector starts a report.
const RaceReport = "WARNING: DATA RACE"

// waitDelay bounds how long Wait waits for the output to be copied after
// the process ended, in case a child of the program still holds its
// stdout.
const waitDelay = 5 * time.Second

// What [Process.Stop] reports; test with errors.Is, since Stop joins them.
var (
	// ErrExited is returned when the process ended before what was waited
	// for, e.g. [Process.FirstLine].
	ErrExited = errors.New("exited")
	// ErrExitedEarly means the process had ended before it was asked to.
	ErrExitedEarly = errors.New("exited before it was stopped")
	// ErrUncleanExit means the process ended with a failure after SIGTERM.
	ErrUncleanExit = errors.New("did not exit cleanly on SIGTERM")
	// ErrKilled means the process outlived the grace after SIGTERM.
	ErrKilled = errors.New("was killed")
	// ErrDataRace means the output holds a report of the race detector.
	ErrDataRace = errors.New("reported a data race")
)

// Spec says how to start a program.
type Spec struct {
	// Name names the process in errors.
	Name string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is added to this process's environment, e.g. [RaceEnv].
	Env []string
	// Output, when set, receives the program's stdout and stderr as well.
	// It must be safe for concurrent use when FirstLine is set, as a
	// [Sink]'s writers are: stdout and stderr are then copied apart.
	Output io.Writer
	// LogFile, when set, is the file the output goes to instead of the
	// [Log]: the program writes it through its own descriptor, so that a
	// chatty program under a benchmark costs this process neither memory
	// nor copying.
	LogFile string
	// OwnGroup puts the process in a process group of its own, so that a
	// Ctrl-C in the terminal reaches only this process, which then stops
	// its children in order.
	OwnGroup bool
	// Taskset, when set, is the path of taskset, which then runs the
	// program pinned to CPU.
	Taskset string
	// CPU is the CPU the program is pinned to when Taskset is set.
	CPU int
	// FirstLine tells that the program prints something the caller waits
	// for as its first line on stdout, e.g. the URL it serves on; see
	// [Process.FirstLine].
	FirstLine bool
}

// Process is a started program. Stop it when done.
type Process struct {
	name    string
	cmd     *exec.Cmd
	log     *Log   // nil when the output goes to logFile
	logFile string // "" when it goes to log
	pinned  bool
	// firstLine receives the first line of stdout; nil unless
	// Spec.FirstLine.
	firstLine chan string
	// exited is closed once the process has ended; state is set before.
	exited chan struct{}
	state  *os.ProcessState
	// terminate sends SIGTERM once: a Go program that restored the
	// default handler after the first would die of a second at once.
	terminate sync.Once
	// stopped is set before the first SIGTERM: the process ending is
	// expected from then on.
	stopped atomic.Bool
}

// Start starts the program of spec. It does not wait for it to be ready.
func Start(spec Spec) (*Process, error) {
	p := &Process{name: spec.Name, exited: make(chan struct{})}
	var out io.Writer
	var file *os.File
	if spec.LogFile != "" {
		// O_APPEND: the program and, with FirstLine, this process's copy
		// of stdout both write the end of the file.
		f, err := os.OpenFile(spec.LogFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", spec.Name, err)
		}
		file, out, p.logFile = f, f, spec.LogFile
	} else {
		p.log = &Log{}
		out = p.log
	}
	if spec.Output != nil {
		out = io.MultiWriter(out, spec.Output)
	}
	// The same writer for both: exec then copies them from one pipe, in
	// order, or hands the program the file itself.
	stdout, stderr := out, out
	if spec.FirstLine {
		p.firstLine = make(chan string, 1)
		stdout = &firstLineWriter{next: out, line: p.firstLine}
	}

	name, args := spec.Path, spec.Args
	if spec.Taskset != "" {
		// taskset execs the program, so the process keeps taskset's pid.
		name, args = spec.Taskset, append([]string{"-c", strconv.Itoa(spec.CPU), spec.Path}, spec.Args...)
		p.pinned = true
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.WaitDelay = waitDelay
	if spec.OwnGroup {
		cmd.SysProcAttr = ownGroup()
	}
	if err := cmd.Start(); err != nil {
		if file != nil {
			_ = file.Close()
		}
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Path, err)
	}
	p.cmd = cmd
	go func() {
		_ = cmd.Wait() // the state says how it ended
		if file != nil {
			_ = file.Close() // only once the copy of stdout is done
		}
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

// Name is [Spec.Name].
func (p *Process) Name() string { return p.name }

// Pid is the process id, which /proc knows the program by.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Pinned tells whether the process runs pinned to a CPU with taskset.
func (p *Process) Pinned() bool { return p.pinned }

// Log is the process's output; nil with [Spec.LogFile].
func (p *Process) Log() *Log { return p.log }

// Exited is closed once the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// State is how the process ended; nil while it runs.
func (p *Process) State() *os.ProcessState {
	select {
	case <-p.exited:
		return p.state
	default:
		return nil
	}
}

// Err is nil while the process runs. Once it has ended, Err says how, with
// the last lines of its output.
func (p *Process) Err() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s %w: %v\n%s", p.name, ErrExited, p.state, p.Tail(15))
	default:
		return nil
	}
}

// Stopped reports whether Terminate or Stop was called: the process ending
// is then expected.
func (p *Process) Stopped() bool { return p.stopped.Load() }

// Terminate sends the process SIGTERM, as the kubelet does, without
// waiting for it to end. Only the first call signals.
func (p *Process) Terminate() {
	p.stopped.Store(true)
	p.terminate.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM) // fails only when it has ended already
	})
}

// Stop sends SIGTERM, unless Terminate did, waits for the process to end,
// and kills it when it has not ended within grace. It reports what a test
// should fail on, joined: that the process had ended before it was asked
// to ([ErrExitedEarly]), ended with a failure ([ErrUncleanExit]) or had to
// be killed ([ErrKilled]), and a race report in its output
// ([ErrDataRace]).
func (p *Process) Stop(grace time.Duration) error {
	early := !p.Stopped() && p.State() != nil
	p.Terminate()
	var errs []error
	select {
	case <-p.exited:
		switch {
		case early:
			errs = append(errs, fmt.Errorf("%s %w: %v", p.name, ErrExitedEarly, p.state))
		case !p.state.Success():
			errs = append(errs, fmt.Errorf("%s %w: %v\n%s", p.name, ErrUncleanExit, p.state, p.Tail(15)))
		}
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
		errs = append(errs, fmt.Errorf("%s did not exit within %s of SIGTERM and %w", p.name, grace, ErrKilled))
	}
	if report := p.Around(RaceReport, 40); report != "" {
		errs = append(errs, fmt.Errorf("%s %w:\n%s", p.name, ErrDataRace, report))
	}
	return errors.Join(errs...)
}

// Tail is the last n lines of the process's output.
func (p *Process) Tail(n int) string {
	if p.log != nil {
		return p.log.Tail(n)
	}
	return fileTail(p.logFile, n)
}

// Around is n lines of the process's output from the first occurrence of
// s on, or "" when s is not in it.
func (p *Process) Around(s string, n int) string {
	if p.log != nil {
		return p.log.Around(s, n)
	}
	return fileAround(p.logFile, s, n)
}
