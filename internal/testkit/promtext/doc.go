// Package promtext reads numbers out of a Prometheus text exposition, as a
// test reads a program's /metrics: [Sum] adds up the samples of one metric
// whose labels include the ones asked for, [Series] lists its series.
package promtext
