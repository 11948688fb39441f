// Package report holds what a run of the sidecar benchmark measured,
// derives the table of ratios and the checks against the targets from it,
// and writes both as JSON and as a markdown table.
//
// It also holds what every benchmark's report is made of, for the others
// to share: the Header and the Target, the cells' formatting by unit
// (Cell), the machine line, the targets and notes sections, and the JSON
// file (WriteJSON).
package report

import (
	"tollgate.dev/tollgate/bench/internal/fleet"
	"tollgate.dev/tollgate/bench/internal/load"
)

// Schema is the version of Report's JSON layout; it changes when a field
// changes meaning.
const Schema = 1

// Report is one benchmark run.
type Report struct {
	// Header is the Schema the report was written with, when the run
	// began and where it took place.
	Header
	// Settings are the run's parameters.
	Settings Settings `json:"settings"`
	// Latency has one open-loop run per rate.
	Latency []LatencyRun `json:"latency"`
	// Answers has one open-loop run per answer size.
	Answers []AnswerRun `json:"answers"`
	// Throughput has one closed-loop run per upstream latency.
	Throughput []ThroughputRun `json:"throughput"`
	// Streams is the run of concurrent SSE streams.
	Streams StreamsRun `json:"streams"`
	// Idle is the proxies' memory once idle after their first request.
	Idle Proxies[fleet.Memory] `json:"idle"`
	// Peer says whether the peer proxy, Portkey, was measured, and if
	// not, why.
	Peer Peer `json:"peer"`
	// Table is the summary table, as printed.
	Table []Row `json:"table"`
	// Targets are the checks against the targets.
	Targets []Target `json:"targets"`
	// Notes point out what a reader of the table should know, such as
	// failed requests.
	Notes []string `json:"notes,omitempty"`
}

// Settings are a run's parameters.
type Settings struct {
	// Quick tells whether the run used -quick's short defaults.
	Quick bool `json:"quick"`
	// Warmup is sent before each measurement and not measured, in seconds.
	Warmup float64 `json:"warmup_s"`
	// Duration is each measurement's length, in seconds.
	Duration float64 `json:"duration_s"`
	// Rates are the open-loop rates, per second.
	Rates []int `json:"rates_per_s"`
	// AnswerSizes are the sizes of the reply text of the answer-size
	// runs, in bytes.
	AnswerSizes []int `json:"answer_sizes_bytes"`
	// AnswerRate is the open-loop rate of the answer-size runs, per
	// second.
	AnswerRate int `json:"answer_rate_per_s"`
	// Rounds is how many turns the targets took in each latency and
	// throughput measurement, each turn Duration/Rounds long, so that a
	// change in the machine's other load falls on all three alike.
	Rounds int `json:"rounds"`
	// Concurrency is the closed-loop worker count.
	Concurrency int `json:"concurrency"`
	// UpstreamLatencies are the mock's delays before answering in the
	// closed-loop runs, in milliseconds.
	UpstreamLatencies []float64 `json:"upstream_latencies_ms"`
	// Streams is the number of concurrent SSE streams.
	Streams int `json:"streams"`
	// StreamRounds is how many times each target got the streams, in
	// turns.
	StreamRounds int `json:"stream_rounds"`
	// StreamChunks is the content deltas per stream.
	StreamChunks int `json:"stream_chunks"`
	// ChunkDelay is the mock's pause between two stream events, in
	// milliseconds.
	ChunkDelay float64 `json:"chunk_delay_ms"`
	// Ramp spreads the streams' starts over this long, in seconds.
	Ramp float64 `json:"ramp_s"`
	// StallGap is the pause between two events that counts as a stall, in
	// milliseconds.
	StallGap float64 `json:"stall_gap_ms"`
	// Policy is the LLMPolicy the sidecar enforced (its baseURL is the
	// mock's).
	Policy string `json:"policy"`
}

// Trio holds one measurement per way of reaching the mock: the three
// every run measures, and the peer's when it was measured.
type Trio[T any] struct {
	// Direct is the app calling the mock itself.
	Direct T `json:"direct"`
	// ReverseProxy is through a plain httputil.ReverseProxy.
	ReverseProxy T `json:"reverseproxy"`
	// Sidecar is through tollgate-sidecar.
	Sidecar T `json:"sidecar"`
	// Portkey is through the Portkey gateway, the peer; nil when it was
	// not measured.
	Portkey *T `json:"portkey,omitempty"`
}

// Proxies holds one measurement per proxy process.
type Proxies[T any] struct {
	// ReverseProxy is the plain httputil.ReverseProxy.
	ReverseProxy T `json:"reverseproxy"`
	// Sidecar is tollgate-sidecar.
	Sidecar T `json:"sidecar"`
	// Portkey is the Portkey gateway, the peer; nil when it was not
	// measured.
	Portkey *T `json:"portkey,omitempty"`
}

// The values of Peer.Name.
const (
	// PeerPortkey is the Portkey AI gateway.
	PeerPortkey = "portkey"
	// PeerNone is no peer.
	PeerNone = "none"
)

// Peer is what became of the peer proxy the run was asked to compare the
// sidecar with. The targets stay the sidecar's against the ReverseProxy;
// the peer is there for a reader to recognise.
type Peer struct {
	// Name is the peer asked for: PeerPortkey or PeerNone.
	Name string `json:"name"`
	// About says what ran, e.g. "@portkey-ai/gateway 1.15.2 on node
	// v20.20.2".
	About string `json:"about,omitempty"`
	// Skipped says why the peer asked for was not measured at all, e.g.
	// "npm not found on PATH".
	Skipped string `json:"skipped,omitempty"`
	// Lost says what ended the peer's measurements before the run's end,
	// e.g. the process exiting; the phases after it have no peer values.
	Lost string `json:"lost,omitempty"`
}

// Measured tells whether the peer ran, for some of the run at least.
func (p Peer) Measured() bool {
	return p.Name != "" && p.Name != PeerNone && p.Skipped == ""
}

// LatencyRun is an open-loop run at one rate.
type LatencyRun struct {
	// Rate is the requests sent per second.
	Rate int `json:"rate_per_s"`
	// Results are per target.
	Results Trio[load.Result] `json:"results"`
	// CPU is the CPU time each proxy process used per request, warm-up
	// included, in microseconds: what the proxy costs, whatever else the
	// machine was doing.
	CPU Proxies[float64] `json:"cpu_us_per_request"`
}

// AnswerRun is an open-loop run whose answers carry a reply text of one
// size.
type AnswerRun struct {
	// Bytes is the size of each answer's reply text.
	Bytes int `json:"bytes"`
	// Rate is the requests sent per second.
	Rate int `json:"rate_per_s"`
	// Results are per target.
	Results Trio[load.Result] `json:"results"`
	// CPU is the CPU time each proxy process used per request, in
	// microseconds, as LatencyRun's.
	CPU Proxies[float64] `json:"cpu_us_per_request"`
}

// ThroughputRun is a closed-loop run at one upstream latency.
type ThroughputRun struct {
	// UpstreamLatency is the mock's delay before answering, in
	// milliseconds.
	UpstreamLatency float64 `json:"upstream_latency_ms"`
	// Concurrency is the number of workers.
	Concurrency int `json:"concurrency"`
	// Results are per target.
	Results Trio[load.Result] `json:"results"`
	// CPU is the CPU time each proxy process used per request at its
	// highest rate, in microseconds: its CPU time over the whole run
	// divided by every request it served, warm-up included.
	CPU Proxies[float64] `json:"cpu_us_per_request"`
}

// StreamsRun is the run of concurrent SSE streams.
type StreamsRun struct {
	// Results are per target.
	Results Trio[load.StreamResult] `json:"results"`
	// CPU is the CPU time each proxy process used per stream, in
	// milliseconds.
	CPU Proxies[float64] `json:"cpu_ms_per_stream"`
	// Memory is each proxy's memory while the streams ran: VmRSS is the
	// highest sampled, VmHWM the peak the kernel saw over the process's
	// life (it was restarted fresh before the idle and stream phases).
	Memory Proxies[fleet.Memory] `json:"memory"`
}
