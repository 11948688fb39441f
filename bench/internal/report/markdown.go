package report

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report as a markdown section that pastes into
// the README's "Performance" section: the machine, the setup, the table
// and the targets.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString(MachineLine(r.Machine) + ".\n")
	peer := r.Peer.Measured()
	pinning := "nothing pinned (no taskset)"
	if r.Machine.Pinned {
		proxies := "sidecar and ReverseProxy"
		if peer {
			proxies = "sidecar, ReverseProxy and Portkey"
		}
		pinning = proxies + " pinned to CPU 1 with taskset, load generator and mock provider on CPU 0"
	}
	s := r.Settings
	fmt.Fprintf(&b, "Setup: %s; %gs per measurement in %d turns per target after a %gs warm-up%s; open-loop rates %s req/s; answers of %s at %d req/s; "+
		"%d SSE streams of %d chunks %g ms apart, started over %gs, %d turns per target; sidecar policy with retries and a circuit breaker, no rate limit",
		pinning, s.Duration, s.Rounds, s.Warmup, QuickNote(s.Quick), joinInts(s.Rates), joinSizes(s.AnswerSizes), s.AnswerRate, s.Streams, s.StreamChunks, s.ChunkDelay, s.Ramp, s.StreamRounds)
	if peer {
		fmt.Fprintf(&b, "; Portkey is %s, headless, its openai provider with the mock as custom host", r.Peer.About)
	}
	b.WriteString(".\n\n")

	if peer {
		b.WriteString("| Measurement | direct | ReverseProxy | sidecar | Portkey | sidecar / direct | sidecar / ReverseProxy | sidecar / Portkey |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	} else {
		b.WriteString("| Measurement | direct | ReverseProxy | sidecar | sidecar / direct | sidecar / ReverseProxy |\n")
		b.WriteString("|---|--:|--:|--:|--:|--:|\n")
	}
	for _, row := range r.Table {
		cells := []string{row.Measurement, Cell(row.Direct, row.Unit), Cell(row.ReverseProxy, row.Unit), Cell(row.Sidecar, row.Unit)}
		if peer {
			cells = append(cells, Cell(row.Portkey, row.Unit))
		}
		cells = append(cells, ratioCell(row.SidecarOverDirect), ratioCell(row.SidecarOverReverseProxy))
		if peer {
			cells = append(cells, ratioCell(row.SidecarOverPortkey))
		}
		fmt.Fprintf(&b, "| %s |\n", strings.Join(cells, " | "))
	}
	WriteTargets(&b, "Measured (sidecar vs ReverseProxy)", r.Targets)
	WriteNotes(&b, r.Notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report, indented, to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	return WriteJSON(path, r)
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

func joinSizes(sizes []int) string {
	parts := make([]string, len(sizes))
	for i, n := range sizes {
		parts[i] = Size(n)
	}
	return strings.Join(parts, ", ")
}
