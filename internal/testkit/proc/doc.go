// Package proc is test support for running the module's programs as they
// run in production: as child processes of a test, a demo or a benchmark.
//
// [RepoRoot] finds the checkout, [Build] compiles its commands with the go
// command (with -race when asked, see [RaceEnabled]), and [Start] runs one
// of them. A [Process] keeps its output in a [Log] (or, for a chatty
// program under a benchmark, lets it write a file itself), can be pinned
// to a CPU with taskset, and can hand over the first line it prints, e.g.
// the URL it serves on. [Process.Stop] ends it with SIGTERM, as the
// kubelet does, and reports what a test should fail on: an exit that was
// not clean, or a data race the race detector reported.
//
// A [Sink] merges the output of several processes into one writer, a line
// at a time with each process's name in front.
package proc
