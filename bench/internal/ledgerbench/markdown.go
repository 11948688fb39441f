package ledgerbench

import (
	"fmt"
	"io"
	"strings"

	"tollgate.dev/tollgate/bench/internal/report"
)

// WriteMarkdown writes the report as a markdown section for the README's
// "Performance" section: the machine, the setup, the table and the
// targets.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	s := r.Settings
	b.WriteString(report.MachineLine(r.Machine) + "; nothing pinned.\n")
	bundles := "no bundle long polls"
	if s.Bundles {
		bundles = "each also holding a bundle long poll open"
	}
	fmt.Fprintf(&b, "Setup: %d simulated sidecars, each syncing %gs after its last answer with %d requests of %s USD settled, %s; "+
		"operator --ledger-commit-interval=%gs (a sync is answered after the next status write); %gs measured after %gs of warm-up%s.\n\n",
		s.Pods, s.Interval, s.RequestsPerInterval, s.RequestCost, bundles, s.Commit, s.Duration, s.Warmup, report.QuickNote(s.Quick))

	b.WriteString("| Measurement |")
	for _, sc := range r.Scenarios {
		b.WriteString(" " + sc.Name + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(r.Scenarios)) + "\n")
	for _, row := range r.Table {
		fmt.Fprintf(&b, "| %s |", row.Measurement)
		for _, v := range row.Values {
			b.WriteString(" " + report.Cell(v, row.Unit) + " |")
		}
		b.WriteString("\n")
	}
	report.WriteTargets(&b, "Measured", r.Targets)
	b.WriteString("\nLatency: ")
	for i, sc := range r.Scenarios {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", sc.Name, sc.LatencyHow)
	}
	b.WriteString(".\n")
	report.WriteNotes(&b, r.Notes)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report, indented, to path, creating its directory.
func (r *Report) WriteJSON(path string) error {
	return report.WriteJSON(path, r)
}
