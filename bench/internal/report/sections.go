package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tollgate.dev/tollgate/bench/internal/fleet"
)

// Header is what every benchmark's report begins with. Embedded in a
// report, its fields stand in the report's JSON as the report's own.
type Header struct {
	// Schema is the version of the report's JSON layout it was written
	// with.
	Schema int `json:"schema"`
	// StartedAt is when the run began.
	StartedAt time.Time `json:"started_at"`
	// Machine is where the run took place.
	Machine fleet.Machine `json:"machine"`
}

// Target is one check of a measurement against a target or a bound.
type Target struct {
	// Name says what is checked and against what limit.
	Name string `json:"name"`
	// Value is what was measured, in words and numbers.
	Value string `json:"value"`
	// Met tells whether the target was met.
	Met bool `json:"met"`
}

// MachineLine describes m for a report's first line, without the full
// stop, so that a benchmark can add what it pinned.
func MachineLine(m fleet.Machine) string {
	return fmt.Sprintf("Machine: %s, %d cores, %s, %s (load average %s at the start)", m.CPU, m.Cores, m.Go, m.Kernel, m.LoadAvg)
}

// QuickNote is what a report's setup line says of a -quick run: nothing
// for a full one.
func QuickNote(quick bool) string {
	if !quick {
		return ""
	}
	return " (quick mode: too short for numbers to quote)"
}

// WriteTargets writes the table of target checks, after a blank line;
// measured heads the column of measured values.
func WriteTargets(b *strings.Builder, measured string, targets []Target) {
	fmt.Fprintf(b, "\n| Target | %s | Met |\n|---|---|:-:|\n", measured)
	for _, t := range targets {
		fmt.Fprintf(b, "| %s | %s | %s |\n", t.Name, t.Value, yesNo(t.Met))
	}
}

// WriteNotes writes the notes as a list, after a blank line; no notes
// write nothing.
func WriteNotes(b *strings.Builder, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("\nNotes:\n")
	for _, n := range notes {
		fmt.Fprintf(b, "- %s\n", n)
	}
}

// WriteJSON writes report, indented, to path, creating its directory.
func WriteJSON(path string, report any) error {
	data, err := json.MarshalIndent(report, "", "  ")
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
