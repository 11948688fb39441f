package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// IsEventStream tells whether a Content-Type is text/event-stream: an
// answer sent as server-sent events.
func IsEventStream(contentType string) bool {
	return strings.HasPrefix(contentType, "text/event-stream")
}

// MaxEventSize is the largest server-sent event an EventReader accepts. The
// largest legitimate events are Responses API terminal events, which repeat
// the whole answer; 8 MiB leaves room for those while bounding the memory a
// misbehaving upstream can make the proxy hold.
const MaxEventSize = 8 << 20

// initialEventBuffer is the size of an EventReader's buffer at its first
// read; it doubles for an event that does not fit. Events are mostly a few
// hundred bytes, and a stream holds its reader's buffer for as long as it
// lasts.
const initialEventBuffer = 1 << 10

// ErrEventTooLarge is returned by EventReader.Next for an event, or a line
// without end, longer than MaxEventSize.
var ErrEventTooLarge = errors.New("server-sent event too large")

// EventReader splits a text/event-stream into events for byte-exact
// passthrough: every byte read is part of exactly one event's Raw, so
// writing each Raw in turn reproduces the stream.
//
// Next returns an event as soon as its terminating blank line has arrived
// and never reads ahead to look for another. Lines may end in "\n", "\r\n"
// or "\r". Comment-only blocks (": keep-alive") and stray blank lines are
// returned as events too, with no Name and no Data, so that they reach the
// app as promptly as they reached the proxy. At the end of the stream,
// bytes after the last blank line are returned as a final event, marked
// Truncated (but for a lone "\n" completing the last blank line's "\r\n",
// which is a blank event like any other).
//
// The slices of an Event (Raw, Data) alias the reader's buffer and stay
// valid only until the next call to Next; copy them to keep them.
type EventReader struct {
	r   io.Reader
	buf []byte
	// buf[start:end] is unconsumed input; the current event begins at
	// start, and bytes before start+scan have been split into lines.
	start, end, scan int
	// consumed is the length of the event returned last, which stays in
	// the buffer (its slices alias it) until the next call.
	consumed int
	// searched is how many bytes after start+scan are known to hold no
	// line end.
	searched int
	// afterCR is set when the last line ending was "\r": a "\n" that
	// follows belongs to that ending, even if it arrives in a later read.
	afterCR bool
	// lead is the number of bytes at the start of the current event that
	// are not lines: a "\n" completing the previous event's "\r\n", or a
	// byte-order mark at the start of the stream.
	lead    int
	started bool   // whether any byte has been split (for the byte-order mark)
	data    []byte // joined data lines of the current event
	max     int    // MaxEventSize; tests lower it
	err     error  // the error that ended the input; io.EOF at its end
}

// NewEventReader returns an EventReader reading from r.
func NewEventReader(r io.Reader) *EventReader {
	return &EventReader{r: r, max: MaxEventSize}
}

// Next returns the next event. At the end of the stream it returns io.EOF
// (or the reader's error) once every byte has been returned in an event.
func (r *EventReader) Next() (Event, error) {
	r.start += r.consumed
	r.consumed, r.scan, r.lead, r.searched = 0, 0, 0, 0
	if r.start == r.end && r.err == nil {
		r.start, r.end = 0, 0 // reuse the buffer from its start
	}
	for {
		if n, ok := r.findEnd(); ok {
			return r.dispatch(n), nil
		}
		if r.err != nil {
			if n := r.end - r.start; n > 0 {
				ev := r.dispatch(n)
				// Cut, unless all that is left is the lead: the "\n" of
				// the last event's "\r\n", which came after its "\r" had
				// ended the event, or a byte-order mark.
				ev.Truncated = n > r.lead
				return ev, nil
			}
			return Event{}, r.err
		}
		if err := r.fill(); err != nil {
			return Event{}, err
		}
	}
}

// findEnd splits buffered input into lines until a blank line ends the
// current event, and reports the event's length.
func (r *EventReader) findEnd() (int, bool) {
	for {
		b := r.buf[r.start+r.scan : r.end]
		if len(b) == 0 {
			return 0, false
		}
		if r.afterCR {
			r.afterCR = false
			if b[0] == '\n' {
				r.scan++
				if r.scan == 1 {
					r.lead = 1 // the previous event's "\r\n" ended here
				}
				continue
			}
		}
		if !r.started {
			// Wait for three bytes to tell a byte-order mark, which the
			// stream format allows once at its start.
			if len(b) < len(bom) && bytes.HasPrefix(bom, b) && r.err == nil {
				return 0, false
			}
			r.started = true
			if bytes.HasPrefix(b, bom) {
				r.lead = len(bom)
				r.scan += len(bom)
				continue
			}
		}
		// Search only the bytes not searched before: a long line can
		// arrive in many reads.
		i := indexLineEnd(b[r.searched:])
		if i < 0 {
			r.searched = len(b)
			return 0, false
		}
		i += r.searched
		r.searched = 0
		r.scan += i + 1
		r.afterCR = b[i] == '\r'
		if i == 0 {
			// A blank line ends the event; take a "\n" completing its
			// "\r\n" along if it is already here.
			if r.afterCR && r.start+r.scan < r.end && r.buf[r.start+r.scan] == '\n' {
				r.scan++
				r.afterCR = false
			}
			return r.scan, true
		}
	}
}

// bom is the UTF-8 byte-order mark.
var bom = []byte("\xef\xbb\xbf")

// indexLineEnd returns the index of the first "\n" or "\r" in b, or -1.
func indexLineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	limit := b
	if i >= 0 {
		limit = b[:i]
	}
	if j := bytes.IndexByte(limit, '\r'); j >= 0 {
		return j
	}
	return i
}

// fill reads more input, first moving the current event to the start of
// the buffer and growing the buffer if the event fills it.
func (r *EventReader) fill() error {
	if r.start > 0 {
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= r.max {
			return fmt.Errorf("%w: no event end within %d bytes", ErrEventTooLarge, r.max)
		}
		size := min(max(2*len(r.buf), initialEventBuffer), r.max)
		nb := make([]byte, size)
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err != nil {
			r.err = err
			return nil
		}
		if n > 0 {
			return nil
		}
	}
	r.err = io.ErrNoProgress
	return nil
}

// dispatch parses the n bytes of the current event into an Event.
func (r *EventReader) dispatch(n int) Event {
	raw := r.buf[r.start : r.start+n]
	r.consumed = n
	ev := Event{Raw: raw}
	var first []byte
	lines := 0
	rest := raw[r.lead:]
	for len(rest) > 0 {
		i := indexLineEnd(rest)
		line := rest
		if i >= 0 {
			line = rest[:i]
			if rest[i] == '\r' && i+1 < len(rest) && rest[i+1] == '\n' {
				i++
			}
			rest = rest[i+1:]
		} else {
			rest = nil
		}
		if len(line) == 0 {
			break // the blank line ending the event
		}
		if line[0] == ':' {
			continue // a comment
		}
		name, value := line, []byte(nil)
		if c := bytes.IndexByte(line, ':'); c >= 0 {
			name, value = line[:c], line[c+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(name) {
		case "event":
			ev.Name = eventName(value)
		case "data":
			// One data line is sliced out of the buffer; more are joined
			// in r.data, reused from event to event.
			switch lines {
			case 0:
				first = value
				if first == nil {
					first = line[len(line):]
				}
			case 1:
				r.data = append(append(append(r.data[:0], first...), '\n'), value...)
			default:
				r.data = append(append(r.data, '\n'), value...)
			}
			lines++
		}
	}
	switch lines {
	case 0:
	case 1:
		ev.Data = first
	default:
		ev.Data = r.data
	}
	return ev
}

// eventName returns the event type, without allocating for the names the
// providers use.
func eventName(b []byte) string {
	if s, ok := knownEventNames[string(b)]; ok {
		return s
	}
	return string(b)
}

// knownEventNames interns the event names of Anthropic and Responses API
// streams, which name every event.
var knownEventNames = func() map[string]string {
	m := map[string]string{}
	for _, s := range []string{
		"message_start", "message_delta", "message_stop", "content_block_start",
		"content_block_delta", "content_block_stop", "ping", "error",
		"response.created", "response.in_progress", "response.completed",
		"response.incomplete", "response.failed", "response.queued",
		"response.output_item.added", "response.output_item.done",
		"response.content_part.added", "response.content_part.done",
		"response.output_text.delta", "response.output_text.done",
		"response.output_text.annotation.added",
		"response.refusal.delta", "response.refusal.done",
		"response.function_call_arguments.delta", "response.function_call_arguments.done",
		"response.reasoning_summary_part.added", "response.reasoning_summary_part.done",
		"response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
		"response.reasoning_text.delta", "response.reasoning_text.done",
	} {
		m[s] = s
	}
	return m
}()

// Event is one server-sent event.
type Event struct {
	// Raw is the event exactly as received, including its terminating blank
	// line, so that it can be forwarded byte for byte.
	Raw []byte
	// Name is the event's "event:" field, or "" (the default "message").
	Name string
	// Data is the event's data: its "data:" lines joined by "\n".
	Data []byte
	// Truncated is set on the last event of a stream that ended before the
	// blank line that would have ended the event.
	Truncated bool
}
