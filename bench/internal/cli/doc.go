// Package cli is the command line the benchmarks share. A Command reads a
// benchmark's settings from its flags and the Common ones (-quick, -repo,
// -out), over a full run's defaults or, with -quick, a smoke run's. Main
// runs the benchmark on a context that SIGINT and SIGTERM cancel, writes
// its JSON report into the repository, prints its table and returns the
// exit code. Ints, Durations and Words are flags of comma-separated lists.
package cli
