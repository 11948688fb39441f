package demo

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Marks of a step's outcome in the narration and the table.
const (
	markPassed  = "✓"
	markFailed  = "✗"
	markSkipped = "-"
)

// result is how one step went: a row of the closing table.
type result struct {
	number   int
	title    string
	expected string
	observed string
	// outcome is markPassed, markFailed or markSkipped.
	outcome string
	took    time.Duration
}

// narrator writes the demo's story as it happens: a heading per step,
// then what a user would type and what came back, indented beneath it.
type narrator struct {
	out io.Writer
}

// heading starts step number n.
func (n *narrator) heading(number int, title, expected string) {
	fmt.Fprintf(n.out, "\n[%d] %s\n    expect: %s\n", number, title, expected)
}

// command shows a command a user would run to do this by hand.
func (n *narrator) command(format string, args ...any) {
	fmt.Fprintf(n.out, "    $ %s\n", fmt.Sprintf(format, args...))
}

// say is one line of narration.
func (n *narrator) say(format string, args ...any) {
	fmt.Fprintf(n.out, "    %s\n", fmt.Sprintf(format, args...))
}

// app shows what an app's request got back through its sidecar: a line of
// its own, so that it never reads as the output of the command above it.
func (n *narrator) app(pod, format string, args ...any) {
	fmt.Fprintf(n.out, "    %s's app (openai-go) got: %s\n", pod, fmt.Sprintf(format, args...))
}

// block shows a command's output or an excerpt of an object, indented.
func (n *narrator) block(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(n.out, "      %s\n", line)
	}
}

// outcome closes a step: its first line, then the rest of a long
// account (a failure's details) beneath it.
func (n *narrator) outcome(r result) {
	first, rest, _ := strings.Cut(r.observed, "\n")
	fmt.Fprintf(n.out, "    %s %s (%s)\n", r.outcome, first, r.took.Round(10*time.Millisecond))
	if strings.TrimSpace(rest) != "" {
		n.block(rest)
	}
}

// writeTable writes the closing table: one row per step, the outcome
// first so that a failure stands out.
func writeTable(out io.Writer, results []result) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\n\t#\tstep\texpected\tobserved\ttime")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.outcome, r.number, r.title, r.expected, oneLine(r.observed, 72), r.took.Round(100*time.Millisecond))
	}
	return tw.Flush()
}

// oneLine keeps the first line of s, cut to at most max runes.
func oneLine(s string, max int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > max {
		return string(r[:max-1]) + "…"
	}
	return s
}
