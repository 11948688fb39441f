// Package load is the benchmark's load generator: open-loop request
// schedules at a fixed rate, closed-loop workers for the highest rate a
// target sustains, and many concurrent SSE streams.
//
// Open-loop latency is measured from the time a request was scheduled to
// be sent, not from the time it was sent, so that a target which falls
// behind is charged for the queue it builds (coordinated omission would
// otherwise hide it).
package load
