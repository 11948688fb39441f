package ledger

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestWait_FollowsTheLedgersIntervals(t *testing.T) {
	tests := map[string]struct {
		opts Options
		view *view
		want time.Duration
	}{
		"before the ledger answers, its defaults: 1s for allowance to come free, two 2s commits, a 1s interval": {
			opts: Options{Interval: time.Second}, want: 6 * time.Second},
		"the intervals the ledger says": {
			opts: Options{Interval: 200 * time.Millisecond}, view: &view{sync: time.Second, commit: 200 * time.Millisecond},
			want: 1600 * time.Millisecond},
		"a ledger that does not say its commit interval is taken to have the defaults": {
			opts: Options{Interval: time.Second}, view: &view{sync: 3 * time.Second}, want: 6 * time.Second},
		"Options.Wait when set": {
			opts: Options{Interval: time.Second, Wait: 500 * time.Millisecond}, view: &view{sync: time.Second, commit: 2 * time.Second},
			want: 500 * time.Millisecond},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			l := &Ledger{opts: tc.opts, view: tc.view}
			assert.Equal(t, tc.want, l.waitLocked())
		})
	}
}
