package fleet

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes where the numbers were taken.
type Machine struct {
	// CPU is the model name from /proc/cpuinfo.
	CPU string `json:"cpu"`
	// Cores is the number of logical CPUs.
	Cores int `json:"cores"`
	// Go is the Go version that built the benchmark.
	Go string `json:"go"`
	// Kernel is the kernel release.
	Kernel string `json:"kernel"`
	// LoadAvg is /proc/loadavg when the run started: a loaded machine
	// gives noisier numbers.
	LoadAvg string `json:"loadavg"`
	// Pinned tells whether the proxies ran pinned to their own CPU.
	Pinned bool `json:"pinned"`
}

// DescribeMachine reads this machine's description.
func DescribeMachine(pinned bool) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Pinned: pinned, CPU: "unknown", Kernel: "unknown"}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if cpu := cpuModel(string(data)); cpu != "" {
			m.CPU = cpu
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = runtime.GOOS + " " + strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(data)); len(f) >= 3 {
			m.LoadAvg = strings.Join(f[:3], " ")
		}
	}
	return m
}

// cpuModel returns the first "model name" of a /proc/cpuinfo.
func cpuModel(cpuinfo string) string {
	for line := range strings.Lines(cpuinfo) {
		key, value, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.Join(strings.Fields(value), " ")
		}
	}
	return ""
}

// Taskset returns the path of taskset, or "" when it is not installed.
func Taskset() string {
	path, err := exec.LookPath("taskset")
	if err != nil {
		return ""
	}
	return path
}
