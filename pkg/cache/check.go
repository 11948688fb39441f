package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"
)

// Reasons Store.Add refuses an entry. Callers may count them by reason.
var (
	// ErrNotSuccess is returned for an answer whose status is not 2xx:
	// only successes are stored.
	ErrNotSuccess = errors.New("answer is not a success")
	// ErrTooLarge is returned for an entry larger than the Store's
	// maximum entry size (WithMaxEntryBytes).
	ErrTooLarge = errors.New("answer is too large to cache")
	// ErrEncoded is returned for a body with a Content-Encoding (gzip,
	// ...), which an app asking without Accept-Encoding could not read.
	ErrEncoded = errors.New("answer body is content-encoded")
	// ErrIncomplete is returned for a body cut short: a stream that is
	// empty or does not end with a complete event, a JSON answer that is
	// not valid JSON.
	ErrIncomplete = errors.New("answer is incomplete")
	// ErrErrorAnswer is returned for a body that reports an error although
	// the status is 2xx: an error event in a stream, an error member in a
	// JSON answer.
	ErrErrorAnswer = errors.New("answer reports an error")
	// ErrClosed is returned by Add once the Store is closed.
	ErrClosed = errors.New("cache store is closed")
)

var (
	errIncompleteStream = fmt.Errorf("%w: the stream does not end with a blank line; store only streams read to their end", ErrIncomplete)
	errIncompleteJSON   = fmt.Errorf("%w: the JSON body is not valid JSON; store only bodies read to their end", ErrIncomplete)
	errErrorEvent       = fmt.Errorf("%w: the stream has an error event", ErrErrorAnswer)
	errErrorJSON        = fmt.Errorf("%w: the JSON body has an error member", ErrErrorAnswer)
)

// check returns why e must not be stored, or nil, given the Store's
// MaxEntryBytes. e is the entry as the caller gave it: its size counts the
// headers Add would drop, which only makes the limit stricter.
func check(e *Entry, maxEntryBytes int64) error {
	if e.Status < 200 || e.Status > 299 {
		return fmt.Errorf("%w: status %d; only 2xx answers are cached", ErrNotSuccess, e.Status)
	}
	if size := e.size(); size > maxEntryBytes {
		return fmt.Errorf("%w: about %d bytes, over the limit of %d bytes", ErrTooLarge, size, maxEntryBytes)
	}
	for _, enc := range e.Header.Values("Content-Encoding") {
		if enc = strings.TrimSpace(enc); enc != "" && !strings.EqualFold(enc, "identity") {
			return fmt.Errorf("%w: Content-Encoding %s; store the decoded body without the header", ErrEncoded, enc)
		}
	}
	if e.Stream {
		return checkStream(e.Body)
	}
	if isJSON(e.Header.Get("Content-Type")) {
		if !json.Valid(e.Body) {
			return errIncompleteJSON
		}
		if dataReportsError(e.Body) {
			return errErrorJSON
		}
	}
	return nil
}

// isJSON reports whether a Content-Type is JSON (application/json or
// a +json type).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
