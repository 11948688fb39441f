package ledgerbench

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// children returns the pids of this process's children by command name
// (the kernel's comm, at most 15 bytes), e.g. the kube-apiserver and etcd
// testenv started.
func children() (map[string][]int, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	out := map[string][]int{}
	for _, path := range stats {
		data, err := os.ReadFile(path)
		if err != nil {
			continue // it ended meanwhile
		}
		pid, ppid, comm, err := parseStatLine(string(data))
		if err != nil || ppid != self {
			continue
		}
		out[comm] = append(out[comm], pid)
	}
	return out, nil
}

// parseStatLine reads the pid, the parent's pid and the command name of a
// /proc/<pid>/stat line. The name, in parentheses, may hold spaces and
// parentheses, so the fields are counted after its last ")".
func parseStatLine(stat string) (pid, ppid int, comm string, err error) {
	open, end := strings.IndexByte(stat, '('), strings.LastIndexByte(stat, ')')
	if open < 0 || end < open {
		return 0, 0, "", fmt.Errorf("no command name in %q", stat)
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(stat[:open])); err != nil {
		return 0, 0, "", fmt.Errorf("pid of %q: %w", stat, err)
	}
	// After ")": state, then ppid.
	fields := strings.Fields(stat[end+1:])
	if len(fields) < 2 {
		return 0, 0, "", fmt.Errorf("no parent pid in %q", stat)
	}
	if ppid, err = strconv.Atoi(fields[1]); err != nil {
		return 0, 0, "", fmt.Errorf("parent pid of %q: %w", stat, err)
	}
	return pid, ppid, stat[open+1 : end], nil
}
