package failures

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"tollgate.dev/tollgate/pkg/llmclient"
	"tollgate.dev/tollgate/pkg/policy"
)

// report is a finished request that failed, with errorBody bytes of the
// provider's error answer in its trace.
func report(id string, errorBody int) *llmclient.Report {
	return &llmclient.Report{
		RequestID: id, Policy: "team-a/chat", Provider: "openai", Model: "gpt-4o-mini",
		Status: 503, Failure: "server_error", End: "complete", Start: time.Now(), Latency: 12 * time.Millisecond,
		Trace: &llmclient.Trace{
			Method: "POST", Path: "/openai/v1/chat/completions",
			Attempts: []llmclient.TraceAttempt{{
				N: 1, Target: policy.Target{Provider: "openai", Model: "gpt-4o-mini"}, Status: 503, Reason: "server_error",
				Start: time.Now(), Latency: 3 * time.Millisecond, ErrorBody: []byte(strings.Repeat("e", errorBody)),
			}},
		},
	}
}

// counts records the results a store observes.
type counts struct {
	mu         sync.Mutex
	results    map[string]int
	diskErrors int
}

func (c *counts) observe(r string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.results == nil {
		c.results = map[string]int{}
	}
	c.results[r]++
}

func (c *counts) diskError() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.diskErrors++
}

func (c *counts) get(r string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.results[r]
}

func open(t *testing.T, opts Options, c *counts) *Store {
	t.Helper()
	opts.Observe, opts.DiskError = c.observe, c.diskError
	s := Open(opts)
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// add adds reports and waits until the writer handled them.
func add(t *testing.T, s *Store, c *counts, reps ...*llmclient.Report) {
	t.Helper()
	before := c.get(ResultDisk) + c.get(ResultMemory) + c.get(ResultDropped)
	for _, r := range reps {
		s.Add(r)
	}
	require.Eventually(t, func() bool {
		return c.get(ResultDisk)+c.get(ResultMemory)+c.get(ResultDropped) == before+len(reps)
	}, 5*time.Second, time.Millisecond)
}

func requestIDs(t *testing.T, snap Snapshot) []string {
	t.Helper()
	var ids []string
	for _, raw := range snap.Records {
		var r Record
		require.NoError(t, json.Unmarshal(raw, &r))
		ids = append(ids, r.RequestID)
	}
	return ids
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestStore_KeepsTheNewestWithinTheCountBound(t *testing.T) {
	dir := t.TempDir()
	c := &counts{}
	s := open(t, Options{Dir: dir, MaxCount: 3}, c)
	for i := range 5 {
		add(t, s, c, report(fmt.Sprintf("r%d", i), 10))
	}
	snap := s.Newest(10)
	assert.Equal(t, []string{"r4", "r3", "r2"}, requestIDs(t, snap), "newest first, the oldest dropped")
	assert.Equal(t, 3, snap.Stored)
	assert.Len(t, files(t, dir), 3, "the files of dropped records are deleted")
	assert.Equal(t, []string{"r4", "r3"}, requestIDs(t, s.Newest(2)))
	assert.Equal(t, 5, c.get(ResultDisk))
}

func TestStore_KeepsTheNewestWithinTheByteBoundCountingWholeBlocks(t *testing.T) {
	dir := t.TempDir()
	c := &counts{}
	// Each record is a little over 4 KiB: two blocks on disk.
	s := open(t, Options{Dir: dir, MaxBytes: 5 * blockSize}, c)
	for i := range 4 {
		add(t, s, c, report(fmt.Sprintf("r%d", i), 4<<10))
	}
	assert.Equal(t, []string{"r3", "r2"}, requestIDs(t, s.Newest(10)))
	var total int64
	for _, name := range files(t, dir) {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		assert.Greater(t, info.Size(), int64(blockSize))
		total += blocks(info.Size())
	}
	assert.LessOrEqual(t, total, int64(5*blockSize))

	add(t, s, c, report("huge", 6*blockSize))
	assert.Equal(t, 1, c.get(ResultDropped), "a record larger than the bound alone is not kept")
	assert.Equal(t, []string{"r3", "r2"}, requestIDs(t, s.Newest(10)))
}

func TestStore_ReadsBackWhatAPreviousRunWrote(t *testing.T) {
	dir := t.TempDir()
	c := &counts{}
	s := Open(Options{Dir: dir, MaxCount: 10, Observe: c.observe})
	add(t, s, c, report("before-1", 10), report("before-2", 10), report("before-3", 10))
	s.Close(context.Background())
	require.NoError(t, os.WriteFile(filepath.Join(dir, tempPrefix+"00000000000000000001-000001"), []byte(`{"cut`), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))

	c2 := &counts{}
	s2 := open(t, Options{Dir: dir, MaxCount: 2}, c2)
	assert.Equal(t, []string{"before-3", "before-2"}, requestIDs(t, s2.Newest(10)), "the newest within the new bound")
	add(t, s2, c2, report("after", 10))
	assert.Equal(t, []string{"after", "before-3"}, requestIDs(t, s2.Newest(10)))
	assert.ElementsMatch(t, []string{"notes.txt"}, filter(files(t, dir), func(n string) bool { return !strings.HasSuffix(n, ".json") }),
		"what a cut write left is removed; files not ours are left alone")
}

func filter(names []string, keep func(string) bool) []string {
	var out []string
	for _, n := range names {
		if keep(n) {
			out = append(out, n)
		}
	}
	return out
}

// failingDisk refuses every write, as a full or read-only disk does.
type failingDisk struct {
	dirDisk
	err error
}

func (d failingDisk) prepare() error                 { return nil }
func (d failingDisk) write(string, []byte) error     { return d.err }
func (d failingDisk) list() ([]file, error)          { return nil, nil }
func (d failingDisk) read(id string) ([]byte, error) { return nil, d.err }

func TestStore_KeepsRecordsInMemoryWhenTheDiskRefusesThem(t *testing.T) {
	for name, err := range map[string]error{"a full disk": syscall.ENOSPC, "a read-only file system": syscall.EROFS} {
		t.Run(name, func(t *testing.T) {
			c := &counts{}
			s := open(t, Options{Dir: "/nowhere", MaxCount: 100, disk: failingDisk{err: &os.PathError{Op: "open", Path: "/nowhere/x", Err: err}}}, c)
			add(t, s, c, report("r1", 10), report("r2", 10))
			snap := s.Newest(10)
			assert.Equal(t, []string{"r2", "r1"}, requestIDs(t, snap), "served from memory")
			assert.Equal(t, 2, snap.MemoryOnly)
			assert.Contains(t, snap.DiskError, err.Error())
			assert.Equal(t, 2, c.get(ResultMemory))
			assert.Equal(t, 2, c.diskErrors)
		})
	}
}

func TestStore_BoundsTheRecordsKeptInMemoryOnly(t *testing.T) {
	c := &counts{}
	s := open(t, Options{Dir: "/nowhere", MaxCount: 1000, MaxBytes: 64 << 20, disk: failingDisk{err: syscall.ENOSPC}}, c)
	for i := range 40 {
		add(t, s, c, report(fmt.Sprintf("r%d", i), 60<<10))
	}
	snap := s.Newest(1000)
	assert.Less(t, snap.Stored, 40)
	assert.Greater(t, snap.Stored, 0)
	assert.Equal(t, "r39", requestIDs(t, snap)[0])
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.LessOrEqual(t, s.memBytes, int64(maxMemoryBytes))
}

// stallingDisk blocks every write until release is closed, as a hung
// network disk does.
type stallingDisk struct {
	dirDisk
	release chan struct{}
}

func (d stallingDisk) prepare() error        { return nil }
func (d stallingDisk) list() ([]file, error) { return nil, nil }
func (d stallingDisk) write(string, []byte) error {
	<-d.release
	return nil
}

func TestStore_AddNeverWaitsForAStalledDisk(t *testing.T) {
	c := &counts{}
	release := make(chan struct{})
	s := Open(Options{Dir: "/stalled", disk: stallingDisk{release: release}, Observe: c.observe})
	start := time.Now()
	for i := range 10 * queueLength {
		s.Add(report(fmt.Sprintf("r%d", i), 10))
	}
	assert.Less(t, time.Since(start), time.Second, "Add does not wait")
	assert.GreaterOrEqual(t, c.get(ResultDropped), 10*queueLength-queueLength-1, "what the queue cannot hold is dropped")
	close(release)
	s.Close(context.Background())
}

func TestStore_IgnoresReportsWithoutATrace(t *testing.T) {
	c := &counts{}
	s := open(t, Options{Dir: t.TempDir()}, c)
	s.Add(&llmclient.Report{RequestID: "fine", Status: 200})
	s.Close(context.Background())
	assert.Equal(t, 0, s.Newest(10).Stored)
}
