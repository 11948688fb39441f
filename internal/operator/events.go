package operator

import (
	"fmt"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// maxEventNote is the longest note the API server takes in an Event
// (events.k8s.io/v1 refuses a longer one, and the Event is lost).
const maxEventNote = 1024

// boundedRecorder cuts each Event's note to what the API server takes. The
// conditions the notes come from keep the whole message; an Event is the
// pointer to it.
type boundedRecorder struct{ events.EventRecorder }

// recorder returns r with its notes bounded.
func recorder(r events.EventRecorder) events.EventRecorder { return boundedRecorder{r} }

func (b boundedRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	b.EventRecorder.Eventf(regarding, related, eventtype, reason, action, "%s", boundNote(fmt.Sprintf(note, args...)))
}

// boundNote is s cut to maxEventNote bytes on a character boundary, ending
// in "…" when cut.
func boundNote(s string) string {
	if len(s) <= maxEventNote {
		return s
	}
	const ellipsis = "…"
	cut := maxEventNote - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}
