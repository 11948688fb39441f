package failures

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"tollgate.dev/tollgate/pkg/llmclient"
)

// Results of Add, as Options.Observe reports them.
const (
	// ResultDisk: the record was written to disk.
	ResultDisk = "disk"
	// ResultMemory: the disk did not take the record; it is kept in
	// memory only, until a restart or the memory bound drops it.
	ResultMemory = "memory"
	// ResultDropped: the record was not kept at all: the writer was behind
	// (a stalled disk), or the record alone is larger than MaxBytes.
	ResultDropped = "dropped"
)

// Results lists every result Options.Observe reports.
func Results() []string { return []string{ResultDisk, ResultMemory, ResultDropped} }

// Defaults of Options.
const (
	DefaultMaxBytes = 8 << 20
	DefaultMaxCount = 1000
)

// blockSize is what the disk stores a file in: a record's size in the
// byte bound is its length rounded up to it, so that the bound holds for
// what an emptyDir's sizeLimit measures.
const blockSize = 4 << 10

// maxMemoryBytes bounds the records kept in memory only.
const maxMemoryBytes = 1 << 20

// queueLength is how many records may wait for the writer.
const queueLength = 64

// logInterval is how often at most a disk error is logged.
const logInterval = time.Minute

// Options configure a Store.
type Options struct {
	// Dir is the directory of the records' files.
	Dir string
	// MaxBytes bounds the bytes of the records, each counted in 4 KiB
	// blocks; MaxCount bounds their number. Defaults DefaultMaxBytes and
	// DefaultMaxCount.
	MaxBytes int64
	MaxCount int
	// Log receives the store's events. Default: none.
	Log *zap.Logger
	// Observe, when set, is told the result of each record (ResultDisk,
	// ResultMemory, ResultDropped); DiskError of each failed disk
	// operation. Both are called from the writer goroutine, or from Add.
	Observe   func(result string)
	DiskError func()

	// disk replaces the directory in tests.
	disk disk
}

// Store is the ring of failure records. Add is safe for concurrent use
// and never waits; one writer goroutine, started by Open and stopped by
// Close, encodes and writes the records.
type Store struct {
	opts  Options
	disk  disk
	queue chan *llmclient.Report
	stop  chan struct{}
	once  sync.Once // closes stop
	done  chan struct{}
	seq   atomic.Uint32

	// mu guards entries, bytes, memBytes and diskErr. Only the writer
	// changes entries; the handler reads them.
	mu       sync.Mutex
	entries  []*entry // oldest first
	bytes    int64    // the sizes of entries
	memBytes int64    // the bytes of the entries held in memory
	diskErr  string   // the last disk error, "" once a write succeeds

	// Disk errors and drops are logged once per logInterval at most, with
	// how many happened since the last line. Used by the writer only, but
	// for drops, which Add counts.
	logDisk, logDrop    rate.Sometimes
	diskErrors, dropped atomic.Int64
}

// entry is one record of the ring.
type entry struct {
	id   string
	size int64 // its length rounded up to blockSize
	// data is the record's JSON while it is not on disk: before it is
	// written, or when the disk did not take it; nil once on disk.
	data []byte
}

// Open reads the records a previous run left in opts.Dir, deleting the
// oldest beyond the bounds, and starts the writer. A directory that
// cannot be made or read is logged and counted, never an error: records
// are then kept in memory only.
func Open(opts Options) *Store {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxCount <= 0 {
		opts.MaxCount = DefaultMaxCount
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	s := &Store{
		opts: opts, disk: opts.disk,
		queue:   make(chan *llmclient.Report, queueLength),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		logDisk: rate.Sometimes{First: 1, Interval: logInterval},
		logDrop: rate.Sometimes{First: 1, Interval: logInterval},
	}
	if s.disk == nil {
		s.disk = dirDisk{dir: opts.Dir}
	}
	s.load()
	go s.run()
	return s
}

// load takes in the files a previous run wrote.
func (s *Store) load() {
	if err := s.disk.prepare(); err != nil {
		s.diskFailed("failure records directory unusable; records are kept in memory only", err)
		return
	}
	files, err := s.disk.list()
	if err != nil {
		s.diskFailed("failure records directory unreadable; records are kept in memory only", err)
		return
	}
	// The newest that fit the bounds stay; older ones go.
	var bytes int64
	keep := len(files)
	for i := len(files) - 1; i >= 0; i-- {
		size := blocks(files[i].size)
		if len(files)-i > s.opts.MaxCount || bytes+size > s.opts.MaxBytes {
			break
		}
		bytes += size
		keep = i
	}
	for _, f := range files[:keep] {
		if err := s.disk.remove(f.id); err != nil {
			s.diskFailed("cannot delete an old failure record", err)
		}
	}
	for _, f := range files[keep:] {
		s.entries = append(s.entries, &entry{id: f.id, size: blocks(f.size)})
	}
	s.bytes = bytes
	if len(files) > 0 {
		s.opts.Log.Info("failure records read back", zap.String("dir", s.opts.Dir), zap.Int("records", len(s.entries)), zap.Int("deleted", keep))
	}
}

// Add records the request of rep when it has a trace. It never waits: when
// the writer is behind, the record is dropped and counted.
func (s *Store) Add(rep *llmclient.Report) {
	if rep.Trace == nil {
		return
	}
	select {
	case s.queue <- rep:
	default:
		s.observe(ResultDropped)
		s.dropped.Add(1)
		s.logDrop.Do(func() {
			s.opts.Log.Warn("failure record dropped: the writer is behind (is the disk stalled?)",
				zap.String("dir", s.opts.Dir), zap.Int64("dropped_since_last_line", s.dropped.Swap(0)))
		})
	}
}

// Close stops the writer after it wrote what is queued, or when ctx ends.
// Records added afterwards are not written.
func (s *Store) Close(ctx context.Context) {
	s.once.Do(func() { close(s.stop) })
	select {
	case <-s.done:
	case <-ctx.Done():
	}
}

// run is the writer goroutine: it ends when Close is called, once the
// queue is empty.
func (s *Store) run() {
	defer close(s.done)
	for {
		select {
		case rep := <-s.queue:
			s.write(rep)
		case <-s.stop:
			for {
				select {
				case rep := <-s.queue:
					s.write(rep)
				default:
					return
				}
			}
		}
	}
}

// write encodes the record of rep and stores it.
func (s *Store) write(rep *llmclient.Report) {
	id := fmt.Sprintf("%020d-%06d", time.Now().UnixNano(), s.seq.Add(1)%1000000)
	data, err := json.Marshal(fromReport(rep, id))
	if err != nil {
		s.observe(ResultDropped)
		s.opts.Log.Error("failure record not encoded", zap.String("request_id", cut(rep.RequestID)), zap.Error(err))
		return
	}
	data = append(data, '\n')
	size := blocks(int64(len(data)))
	if size > s.opts.MaxBytes {
		s.observe(ResultDropped)
		s.opts.Log.Warn("failure record larger than --failure-records-max-bytes; not kept",
			zap.String("request_id", cut(rep.RequestID)), zap.Int("bytes", len(data)), zap.Int64("max_bytes", s.opts.MaxBytes))
		return
	}
	e := &entry{id: id, size: size, data: data}
	s.mu.Lock()
	s.entries = append(s.entries, e)
	s.bytes += size
	s.memBytes += int64(len(data))
	evicted := s.evictLocked()
	s.mu.Unlock()
	s.removeFiles(evicted)

	err = s.disk.write(id, data)
	if errors.Is(err, fs.ErrNotExist) && s.disk.prepare() == nil {
		err = s.disk.write(id, data) // the directory was gone, and is back
	}
	s.mu.Lock()
	if err == nil {
		s.memBytes -= int64(len(e.data))
		e.data = nil
		s.diskErr = ""
	} else {
		s.diskErr = err.Error()
		s.evictMemoryLocked()
	}
	s.mu.Unlock()
	if err != nil {
		s.observe(ResultMemory)
		s.diskFailed("failure record not written to disk; keeping it in memory only", err)
		return
	}
	s.observe(ResultDisk)
}

// evictLocked drops the oldest entries beyond the bounds and returns
// those whose files are to be deleted.
func (s *Store) evictLocked() []*entry {
	var onDisk []*entry
	for len(s.entries) > s.opts.MaxCount || s.bytes > s.opts.MaxBytes {
		e := s.entries[0]
		s.entries[0] = nil
		s.entries = s.entries[1:]
		s.bytes -= e.size
		if e.data != nil {
			s.memBytes -= int64(len(e.data))
		} else {
			onDisk = append(onDisk, e)
		}
	}
	return onDisk
}

// evictMemoryLocked drops the oldest records held in memory only beyond
// maxMemoryBytes.
func (s *Store) evictMemoryLocked() {
	for i := 0; s.memBytes > maxMemoryBytes && i < len(s.entries); {
		e := s.entries[i]
		if e.data == nil {
			i++
			continue
		}
		s.memBytes -= int64(len(e.data))
		s.bytes -= e.size
		s.entries = append(s.entries[:i], s.entries[i+1:]...)
	}
}

func (s *Store) removeFiles(entries []*entry) {
	for _, e := range entries {
		if err := s.disk.remove(e.id); err != nil {
			s.diskFailed("cannot delete an old failure record", err)
		}
	}
}

// diskFailed counts a disk error and logs it, once per logInterval at
// most.
func (s *Store) diskFailed(msg string, err error) {
	if s.opts.DiskError != nil {
		s.opts.DiskError()
	}
	s.diskErrors.Add(1)
	s.logDisk.Do(func() {
		s.opts.Log.Warn(msg, zap.String("dir", s.opts.Dir), zap.Error(err),
			zap.Int64("disk_errors_since_last_line", s.diskErrors.Swap(0)))
	})
}

func (s *Store) observe(result string) {
	if s.opts.Observe != nil {
		s.opts.Observe(result)
	}
}

// blocks rounds n up to whole blocks of the disk.
func blocks(n int64) int64 {
	return (n + blockSize - 1) / blockSize * blockSize
}

// Snapshot is what the store holds, newest first.
type Snapshot struct {
	// Records are the newest records, at most the limit asked for.
	Records []json.RawMessage
	// Stored counts every record kept, MemoryOnly those the disk did not
	// take.
	Stored, MemoryOnly int
	// DiskError is the last disk error, "" once a write succeeded.
	DiskError string
}

// Newest returns the newest records, at most limit of them. A file that
// cannot be read (deleted meanwhile, or not a record) is left out.
func (s *Store) Newest(limit int) Snapshot {
	type ref struct {
		id   string
		data []byte
	}
	s.mu.Lock()
	snap := Snapshot{Stored: len(s.entries), DiskError: s.diskErr}
	refs := make([]ref, 0, min(limit, len(s.entries)))
	for i := len(s.entries) - 1; i >= 0; i-- {
		e := s.entries[i]
		if e.data != nil {
			snap.MemoryOnly++
		}
		if len(refs) < limit {
			refs = append(refs, ref{id: e.id, data: e.data})
		}
	}
	s.mu.Unlock()
	snap.Records = make([]json.RawMessage, 0, len(refs))
	for _, r := range refs {
		data := r.data
		if data == nil {
			var err error
			if data, err = s.disk.read(r.id); err != nil {
				continue
			}
		}
		if !json.Valid(data) {
			continue
		}
		snap.Records = append(snap.Records, json.RawMessage(trimNewline(data)))
	}
	return snap
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
