package llmclient

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBufferBudget_BodiesWaitInOrderUntilTheyFit(t *testing.T) {
	b := NewBufferBudget(100)
	require.NoError(t, b.acquire(context.Background(), 60))

	granted := make(chan int, 2)
	for i, n := range []int64{50, 10} {
		go func() {
			if b.acquire(context.Background(), n) == nil {
				granted <- i
			}
		}()
		require.Eventually(t, func() bool { return b.waiting() == i+1 }, time.Second, time.Millisecond)
	}
	// 10 bytes would fit now, but not ahead of the 50 that came first.
	assert.Empty(t, granted)
	assert.EqualValues(t, 60, b.InUse())

	b.release(60)
	assert.ElementsMatch(t, []int{0, 1}, []int{<-granted, <-granted}, "both fit together once the 60 are back")
	assert.EqualValues(t, 60, b.InUse())
}

func TestBufferBudget_ABodyThatGivesUpLetsTheNextOneIn(t *testing.T) {
	b := NewBufferBudget(100)
	require.NoError(t, b.acquire(context.Background(), 60))
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error)
	go func() { gaveUp <- b.acquire(ctx, 50) }()
	require.Eventually(t, func() bool { return b.waiting() == 1 }, time.Second, time.Millisecond)
	next := make(chan error)
	go func() { next <- b.acquire(context.Background(), 40) }()
	require.Eventually(t, func() bool { return b.waiting() == 2 }, time.Second, time.Millisecond)

	cancel()
	require.ErrorIs(t, <-gaveUp, context.Canceled)
	require.NoError(t, <-next, "40 bytes fit beside 60 once the 50 ahead gave up")
	assert.EqualValues(t, 100, b.InUse())
}

func TestBufferBudget_CopiesOfAnswersNeverWaitNorPassTheLimit(t *testing.T) {
	b := NewBufferBudget(100)
	require.NoError(t, b.acquire(context.Background(), 60))
	go func() { _ = b.acquire(context.Background(), 50) }()
	require.Eventually(t, func() bool { return b.waiting() == 1 }, time.Second, time.Millisecond)

	assert.True(t, b.tryAcquire(30), "an answer under way goes ahead of a waiting body")
	assert.False(t, b.tryAcquire(20), "but never past the limit")
	assert.EqualValues(t, 90, b.InUse())
}

func TestBufferBudget_ABodyLargerThanTheBudgetIsRefusedAtOnce(t *testing.T) {
	err := NewBufferBudget(100).acquire(context.Background(), 101)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceed the whole buffer budget of 100 bytes")
}

// waiting is how many bodies wait for room.
func (b *BufferBudget) waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.waiters)
}
