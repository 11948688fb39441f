package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"tollgate.dev/tollgate/internal/testkit/proc"
)

// NoCPU leaves a process unpinned.
const NoCPU = -1

// Spec says how to start one program.
type Spec struct {
	// Name names the process in errors and its log file.
	Name string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is added to this process's environment, e.g. KUBECONFIG=...
	Env []string
	// CPU is the CPU to pin the process to with taskset, or NoCPU.
	CPU int
	// Taskset is the path of taskset; "" runs the process unpinned.
	Taskset string
	// LogDir receives the process's output as <Name>.log.
	LogDir string
	// PrintsURL tells that the program prints the URL it serves on as its
	// first line of output, as mock-provider and plainproxy do.
	PrintsURL bool
}

// Process is a started program. Stop it when done.
type Process struct {
	// Name is Spec.Name.
	Name string
	// URL is the URL the program printed, when Spec.PrintsURL.
	URL string
	// Pinned tells whether the process runs pinned to Spec.CPU.
	Pinned bool

	process *proc.Process
	logPath string
}

// urlWait bounds how long a program may take to print its URL.
const urlWait = 30 * time.Second

// stopGrace is how long a process may take to exit after SIGTERM before
// it is killed.
const stopGrace = 5 * time.Second

// Start starts the program of spec and, when spec.PrintsURL, waits until
// it has printed its URL. The program writes its output to its log file
// itself, so that the sidecar's log line per request costs the benchmark
// nothing.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	logPath := filepath.Join(spec.LogDir, spec.Name+".log")
	ps := proc.Spec{Name: spec.Name, Path: spec.Path, Args: spec.Args, Env: spec.Env, LogFile: logPath, FirstLine: spec.PrintsURL}
	if spec.CPU != NoCPU && spec.Taskset != "" {
		ps.Taskset, ps.CPU = spec.Taskset, spec.CPU
	}
	started, err := proc.Start(ps)
	if err != nil {
		return nil, err
	}
	p := &Process{Name: spec.Name, Pinned: started.Pinned(), process: started, logPath: logPath}
	if !spec.PrintsURL {
		return p, nil
	}
	wait, cancel := context.WithTimeout(ctx, urlWait)
	defer cancel()
	p.URL, err = started.FirstLine(wait)
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, proc.ErrExited):
		return nil, p.failure("exited before printing its URL")
	case ctx.Err() != nil:
		p.Stop()
		return nil, fmt.Errorf("start %s: %w", spec.Name, ctx.Err())
	default:
		p.Stop()
		return nil, p.failure(fmt.Sprintf("printed no URL within %s", urlWait))
	}
}

// Pid is the process id, which /proc knows the program by.
func (p *Process) Pid() int { return p.process.Pid() }

// Memory reads the process's resident memory.
func (p *Process) Memory() (Memory, error) {
	select {
	case <-p.process.Exited():
		return Memory{}, p.failure("exited while the benchmark ran")
	default:
	}
	return ReadMemory(p.Pid())
}

// WaitReady polls url until it answers 200, the process exits, or timeout
// passes.
func (p *Process) WaitReady(ctx context.Context, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.process.Exited():
			return p.failure("exited before it was ready")
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("was not ready at %s within %s", url, timeout))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the process with SIGTERM, or SIGKILL when it has not exited
// 5 seconds later, and waits for it. How it exited does not matter to the
// benchmark, which has its numbers by then.
func (p *Process) Stop() {
	_ = p.process.Stop(stopGrace)
}

// failure describes what went wrong with the process, with the end of its
// log.
func (p *Process) failure(what string) error {
	msg := fmt.Sprintf("%s %s", p.Name, what)
	if state := p.process.State(); state != nil {
		msg += fmt.Sprintf(" (%v)", state)
	}
	return errors.New(msg + "; its log " + p.logPath + " ends with:\n" + p.process.Tail(20))
}

// PinSelf pins every thread of this process to cpu with taskset, so that
// the load generator stays off the proxies' CPU.
func PinSelf(taskset string, cpu int) error {
	out, err := exec.Command(taskset, "-a", "-p", "-c", strconv.Itoa(cpu), strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset -a -p -c %d %d: %w: %s", cpu, os.Getpid(), err, out)
	}
	return nil
}

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for programs that take their listen address as a flag.
func FreeAddr() (string, error) {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port on 127.0.0.1: %w", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr, nil
}
