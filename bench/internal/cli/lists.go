package cli

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Ints is a flag of comma-separated whole numbers, stored into dst.
func Ints(dst *[]int) flag.Value { return intList{dst} }

// Durations is a flag of comma-separated durations, stored into dst; a
// bare 0 is zero.
func Durations(dst *[]time.Duration) flag.Value { return durationList{dst} }

// Words is a flag of comma-separated words, stored into dst, each once.
func Words(dst *[]string) flag.Value { return wordList{dst} }

// Each list's String takes a nil dst: -help calls it on the type's zero
// value, to tell whether a flag's default is worth printing.

type intList struct{ dst *[]int }

func (l intList) String() string {
	if l.dst == nil {
		return ""
	}
	parts := make([]string, len(*l.dst))
	for i, n := range *l.dst {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func (l intList) Set(s string) error {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q is not a whole number", part)
		}
		out = append(out, n)
	}
	*l.dst = out
	return nil
}

type durationList struct{ dst *[]time.Duration }

func (l durationList) String() string {
	if l.dst == nil {
		return ""
	}
	parts := make([]string, len(*l.dst))
	for i, d := range *l.dst {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func (l durationList) Set(s string) error {
	var out []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 20ms", part)
		}
		out = append(out, d)
	}
	*l.dst = out
	return nil
}

type wordList struct{ dst *[]string }

func (l wordList) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l wordList) Set(s string) error {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" && !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	*l.dst = out
	return nil
}
