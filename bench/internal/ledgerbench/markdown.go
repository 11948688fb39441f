package ledgerbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteMarkdown writes the report as a markdown section for the README's
// "Performance" section: the machine, the setup, the table and the
// targets.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	m, s := r.Machine, r.Settings
	fmt.Fprintf(&b, "Machine: %s, %d cores, %s, %s (load average %s at the start); nothing pinned.\n", m.CPU, m.Cores, m.Go, m.Kernel, m.LoadAvg)
	mode := ""
	if s.Quick {
		mode = " (quick mode: too short for numbers to quote)"
	}
	bundles := "no bundle long polls"
	if s.Bundles {
		bundles = "each also holding a bundle long poll open"
	}
	fmt.Fprintf(&b, "Setup: %d simulated sidecars, each syncing %gs after its last answer with %d requests of %s USD settled, %s; "+
		"operator --ledger-commit-interval=%gs (a sync is answered after the next status write); %gs measured after %gs of warm-up%s.\n\n",
		s.Pods, s.Interval, s.RequestsPerInterval, s.RequestCost, bundles, s.Commit, s.Duration, s.Warmup, mode)

	b.WriteString("| Measurement |")
	for _, sc := range r.Scenarios {
		b.WriteString(" " + sc.Name + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("--:|", len(r.Scenarios)) + "\n")
	for _, row := range r.Table {
		fmt.Fprintf(&b, "| %s |", row.Measurement)
		for _, v := range row.Values {
			b.WriteString(" " + cell(v, row.Unit) + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString("\n| Target | Measured | Met |\n|---|---|:-:|\n")
	for _, t := range r.Targets {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", t.Name, t.Value, yesNo(t.Met))
	}
	b.WriteString("\nLatency: ")
	for i, sc := range r.Scenarios {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", sc.Name, sc.LatencyHow)
	}
	b.WriteString(".\n")
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
	case UnitBound:
		if *v < 0 {
			return "> " + fmtMillis(-*v)
		}
		return "≤ " + fmtMillis(*v)
	case UnitPerSec:
		if *v < 10 {
			return fmt.Sprintf("%.2f", *v)
		}
		return fmt.Sprintf("%.0f", *v)
	case UnitCores:
		return fmt.Sprintf("%.2f", *v)
	case UnitSeconds:
		return fmt.Sprintf("%.3f s", *v)
	case UnitMiB:
		return fmt.Sprintf("%.1f MiB", *v)
	case UnitKiB:
		return fmt.Sprintf("%.0f KiB", *v)
	case UnitYesNo:
		return yesNo(*v == 1)
	default:
		return fmt.Sprintf("%g", *v)
	}
}

// fmtMillis shows three significant digits down to microseconds.
func fmtMillis(ms float64) string {
	switch abs := max(ms, -ms); {
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

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
