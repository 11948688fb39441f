package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteMarkdown writes the report as a markdown section that pastes into
// the README's "Performance" section: the machine, the setup, the table
// and the targets.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s, %s (load average %s at the start).\n", m.CPU, m.Cores, m.Go, m.Kernel, m.LoadAvg)
	pinning := "nothing pinned (no taskset)"
	if m.Pinned {
		pinning = "sidecar and ReverseProxy pinned to CPU 1 with taskset, load generator and mock provider on CPU 0"
	}
	s := r.Settings
	mode := ""
	if s.Quick {
		mode = " (quick mode: too short for numbers to quote)"
	}
	fmt.Fprintf(&b, "Setup: %s; %gs per measurement in %d turns per target after a %gs warm-up%s; open-loop rates %s req/s; "+
		"%d SSE streams of %d chunks %g ms apart, started over %gs, %d turns per target; sidecar policy with retries and a circuit breaker, no rate limit.\n\n",
		pinning, s.Duration, s.Rounds, s.Warmup, mode, joinInts(s.Rates), s.Streams, s.StreamChunks, s.ChunkDelay, s.Ramp, s.StreamRounds)

	b.WriteString("| Measurement | direct | ReverseProxy | sidecar | sidecar / direct | sidecar / ReverseProxy |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	for _, row := range r.Table {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", row.Measurement,
			cell(row.Direct, row.Unit), cell(row.ReverseProxy, row.Unit), cell(row.Sidecar, row.Unit),
			ratioCell(row.SidecarOverDirect), ratioCell(row.SidecarOverReverseProxy))
	}
	b.WriteString("\n| Target | Measured (sidecar vs ReverseProxy) | Met |\n|---|---|:-:|\n")
	for _, t := range r.Targets {
		met := "no"
		if t.Met {
			met = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, t.Value, met)
	}
	if len(r.Notes) > 0 {
		b.WriteString("\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report, indented, to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the report: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

func cell(v *float64, unit string) string {
	if v == nil {
		return "—"
	}
	switch unit {
	case UnitMillis:
		return fmtMillis(*v)
	case UnitMicros:
		return fmt.Sprintf("%.0f µs", *v)
	case UnitPerSec:
		return fmt.Sprintf("%.0f", *v)
	case UnitMiB:
		return fmt.Sprintf("%.1f MiB", *v)
	default:
		return fmt.Sprintf("%.0f", *v)
	}
}

// fmtMillis shows three significant digits down to microseconds.
func fmtMillis(ms float64) string {
	abs := ms
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case abs >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	case abs >= 1:
		return fmt.Sprintf("%.2f ms", ms)
	default:
		return fmt.Sprintf("%.3f ms", ms)
	}
}

func ratioCell(v *float64) string {
	if v == nil {
		return "—"
	}
	return fmt.Sprintf("%.2f×", *v)
}

func joinInts(ns []int) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, ", ")
}
