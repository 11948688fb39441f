// Package fleet builds and runs the processes the benchmark measures: the
// mock provider, the plain ReverseProxy and the sidecar, each a process of
// its own so that its memory can be read from /proc, pinned to a CPU with
// taskset where taskset exists.
package fleet
