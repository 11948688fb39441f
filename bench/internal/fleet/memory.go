package fleet

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Memory is a process's resident memory, as /proc/<pid>/status says.
type Memory struct {
	// RSS is VmRSS: resident now, in KiB.
	RSS int64 `json:"vmrss_kib"`
	// HWM is VmHWM: the most that was ever resident, in KiB.
	HWM int64 `json:"vmhwm_kib"`
}

// ReadMemory reads the memory of process pid.
func ReadMemory(pid int) (Memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, fmt.Errorf("read the memory of process %d: %w", pid, err)
	}
	defer f.Close()
	return parseStatus(f.Name(), bufio.NewScanner(f))
}

// parseStatus reads VmRSS and VmHWM from the lines of a status file.
func parseStatus(name string, sc *bufio.Scanner) (Memory, error) {
	var m Memory
	var seen int
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return Memory{}, fmt.Errorf("%s: %s is %q, expected a number of kB", name, key, strings.TrimSpace(value))
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return Memory{}, fmt.Errorf("%s: %s: %w", name, key, err)
		}
		if key == "VmRSS" {
			m.RSS = n
		} else {
			m.HWM = n
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("%s: %w", name, err)
	}
	if seen != 2 {
		return Memory{}, fmt.Errorf("%s has no VmRSS and VmHWM lines: is this Linux, and is the process alive?", name)
	}
	return m, nil
}

// MiB converts KiB to MiB.
func MiB(kib int64) float64 { return float64(kib) / 1024 }
