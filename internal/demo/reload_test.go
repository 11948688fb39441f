package demo

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestSinceApply_SaysWhenTheLedgerWasFasterThanKubectl(t *testing.T) {
	applied := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	short, long := sinceApply(applied.Add(17*time.Millisecond+400*time.Microsecond), applied)
	assert.Equal(t, "17ms", short)
	assert.Equal(t, "17ms after kubectl apply returned", long)
	short, long = sinceApply(applied.Add(-5*time.Millisecond), applied)
	assert.Equal(t, "<0s", short)
	assert.Equal(t, "before kubectl apply had returned", long)
}
