package fleet

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's CPU times (USER_HZ, 100 on
// every Linux ABI Go supports).
const clockTick = 10 * time.Millisecond

// CPUTime reads the CPU time, user plus system, that process pid and all
// its threads have used.
func CPUTime(pid int) (time.Duration, error) {
	name := fmt.Sprintf("/proc/%d/stat", pid)
	data, err := os.ReadFile(name)
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	return parseStat(name, string(data))
}

// parseStat reads utime and stime from a stat line. The command name in
// parentheses may hold spaces, so fields are counted after its ")".
func parseStat(name, stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: no command name in %q", name, stat)
	}
	// After ")": state is field 3 of the line, utime 14 and stime 15.
	fields := strings.Fields(stat[i+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("%s: %d fields after the command name, expected at least 13", name, len(fields))
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: CPU time %q: %w", name, f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// CPUTime reads the CPU time the process has used.
func (p *Process) CPUTime() (time.Duration, error) {
	return CPUTime(p.Pid())
}
