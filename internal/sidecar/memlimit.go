package sidecar

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the container's memory limit given to
// the Go runtime as its soft limit. Without one, the garbage collector lets
// the heap grow to twice what is live before it collects: with the
// sidecar's buffers full (request bodies, answer copies; see
// llmclient.BufferBudget) that is past the container's limit, and an OOM
// kill instead of a collection. The quarter left is for what the runtime
// cannot reclaim at once (fragmentation, the stacks of many connections).
const memoryLimitShare = 0.75

// cgroupMemoryFiles hold the container's memory limit: cgroup v2's, then
// v1's.
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// setMemoryLimit sets the runtime's soft memory limit to memoryLimitShare
// of the container's memory limit, unless GOMEMLIMIT chose one or there is
// no limit. It returns the limit set, or 0.
func setMemoryLimit() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	for _, f := range cgroupMemoryFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		limit, ok := parseCgroupLimit(string(b))
		if !ok {
			return 0
		}
		soft := int64(float64(limit) * memoryLimitShare)
		debug.SetMemoryLimit(soft)
		return soft
	}
	return 0
}

// parseCgroupLimit reads a cgroup memory limit file: a number of bytes, or
// "max" (v2) or a number near 2^63 (v1) for no limit.
func parseCgroupLimit(content string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(content), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0, false
	}
	return n, true
}
