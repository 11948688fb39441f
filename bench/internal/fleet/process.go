package fleet

import (
	"bufio"
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
	"strings"
	"syscall"
	"time"
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

	cmd     *exec.Cmd
	logPath string
	exited  chan struct{} // closed once cmd.Wait returned; waitErr is set then
	waitErr error
}

// Start starts the program of spec and, when spec.PrintsURL, waits until
// it has printed its URL.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	logPath := filepath.Join(spec.LogDir, spec.Name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	defer logFile.Close() // the child holds its own descriptor
	name, args := spec.Path, spec.Args
	pinned := spec.CPU != NoCPU && spec.Taskset != ""
	if pinned {
		// taskset execs the program, so the process keeps taskset's pid.
		name, args = spec.Taskset, append([]string{"-c", strconv.Itoa(spec.CPU), spec.Path}, spec.Args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Stderr = logFile
	var stdout io.ReadCloser
	if spec.PrintsURL {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, fmt.Errorf("start %s: %w", spec.Name, err)
		}
	} else {
		cmd.Stdout = logFile
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", spec.Name, spec.Path, err)
	}
	p := &Process{Name: spec.Name, Pinned: pinned, cmd: cmd, logPath: logPath, exited: make(chan struct{})}
	urlc := make(chan string, 1)
	if spec.PrintsURL {
		go p.readURL(stdout, logPath, urlc)
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if !spec.PrintsURL {
		return p, nil
	}
	select {
	case p.URL = <-urlc:
		return p, nil
	case <-p.exited:
		return nil, p.failure("exited before printing its URL")
	case <-ctx.Done():
		p.Stop()
		return nil, fmt.Errorf("start %s: %w", spec.Name, ctx.Err())
	case <-time.After(30 * time.Second):
		p.Stop()
		return nil, p.failure("printed no URL within 30s")
	}
}

// readURL sends the first line of out to urlc, then copies the rest of out
// to the log so that the program never blocks on a full pipe.
func (p *Process) readURL(out io.Reader, logPath string, urlc chan<- string) {
	br := bufio.NewReader(out)
	line, err := br.ReadString('\n')
	if err == nil {
		urlc <- strings.TrimSpace(line)
	}
	if f, ferr := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0); ferr == nil {
		_, _ = io.Copy(f, br)
		_ = f.Close()
	} else {
		_, _ = io.Copy(io.Discard, br)
	}
}

// Pid is the process id, which /proc knows the program by.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Memory reads the process's resident memory.
func (p *Process) Memory() (Memory, error) {
	select {
	case <-p.exited:
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
		case <-p.exited:
			return p.failure("exited before it was ready")
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("was not ready at %s within %s", url, timeout))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Stop ends the process with SIGTERM, or SIGKILL when it has not exited
// 5 seconds later, and waits for it.
func (p *Process) Stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// failure describes what went wrong with the process, with the end of its
// log.
func (p *Process) failure(what string) error {
	msg := fmt.Sprintf("%s %s", p.Name, what)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			msg += fmt.Sprintf(" (%v)", p.waitErr)
		}
	default:
	}
	return errors.New(msg + "; its log " + p.logPath + " ends with:\n" + tail(p.logPath, 2048))
}

// tail returns the last n bytes of the file at path.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(-n, io.SeekEnd)
	}
	b, _ := io.ReadAll(f)
	return string(b)
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
