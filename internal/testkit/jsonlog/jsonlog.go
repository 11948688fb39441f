// Package jsonlog checks a program's structured log the way a log pipeline
// reads it: one JSON object per line, each key once per object. A repeated
// key is legal JSON that readers disagree on (encoding/json and most
// pipelines keep the last value, some the first, some reject the line), so
// a test rejects it rather than letting one of the values vanish.
package jsonlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Options say what Check rejects besides repeated keys.
type Options struct {
	// OnlyJSON rejects lines that are not a JSON object. Without it they
	// are skipped: a program's last words before its logger existed, or a
	// race report, which other checks catch.
	OnlyJSON bool
	// NoErrors rejects lines at level error or above, and lines carrying a
	// stack trace (zap's stacktrace or errorVerbose): what a normal run
	// must not log.
	NoErrors bool
}

// Check returns one message per problem in the log text, each naming the
// line (1-based) and quoting it; none when the log is clean.
func Check(text string, opts Options) []string {
	var problems []string
	n := 0
	for line := range strings.Lines(text) {
		n++
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) == "" {
			continue
		}
		report := func(format string, args ...any) {
			problems = append(problems, fmt.Sprintf("line %d: %s: %s", n, fmt.Sprintf(format, args...), line))
		}
		if !strings.HasPrefix(strings.TrimSpace(line), "{") {
			if opts.OnlyJSON {
				report("not a JSON object")
			}
			continue
		}
		dups, err := DuplicateKeys([]byte(line))
		if err != nil {
			report("not one JSON object (%v)", err)
			continue
		}
		for _, k := range dups {
			report("key %q appears more than once", k)
		}
		if !opts.NoErrors {
			continue
		}
		var fields struct {
			Level      string `json:"level"`
			Stacktrace string `json:"stacktrace"`
			// ErrorVerbose is zap's %+v of an error that formats itself:
			// for github.com/pkg/errors, a stack trace.
			ErrorVerbose string `json:"errorVerbose"`
		}
		_ = json.Unmarshal([]byte(line), &fields) // DuplicateKeys parsed it
		switch fields.Level {
		case "error", "dpanic", "panic", "fatal":
			report("logged at level %s", fields.Level)
		}
		if fields.Stacktrace != "" || fields.ErrorVerbose != "" {
			report("carries a stack trace")
		}
	}
	return problems
}

// DuplicateKeys returns the keys that appear more than once in one object
// of the JSON value data, as dotted paths from the top ("a.b" for key b of
// the object under key a; array elements add "[]"), or an error when data
// is not exactly one JSON value. It walks tokens with a json.Decoder, since
// decoding into a map keeps the last duplicate silently.
func DuplicateKeys(data []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var dups []string
	if err := walk(dec, "", &dups); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more than one JSON value")
	}
	return dups, nil
}

// walk reads one value from dec, appending the repeated keys of its
// objects, under path, to dups.
func walk(dec *json.Decoder, path string, dups *[]string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			keyTok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := keyTok.(string) // the decoder only hands out string keys here
			p := key
			if path != "" {
				p = path + "." + key
			}
			if seen[key] {
				*dups = append(*dups, p)
			}
			seen[key] = true
			if err := walk(dec, p, dups); err != nil {
				return err
			}
		}
		_, err = dec.Token() // '}'
		return err
	case json.Delim('['):
		for dec.More() {
			if err := walk(dec, path+"[]", dups); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}
