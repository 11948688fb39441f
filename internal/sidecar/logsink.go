package sidecar

import (
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// DefaultLogFlushInterval is how long a request's log line may wait in
// the buffer before it is written (--log-flush-interval).
const DefaultLogFlushInterval = 250 * time.Millisecond

// logBufferSize bounds the request lines held between two flushes: a full
// buffer is written at once, whatever the interval.
const logBufferSize = 32 << 10

// loggers are the sidecar's two loggers over one output. Every request
// gets a line: written one by one, those lines cost a write system call
// each, as much CPU as the rest of the request's report. So requests'
// lines go to a buffer, written out every flush interval, when it is full,
// and when the sidecar stops (SIGTERM included: Run flushes before it
// returns). Every other line (start, reloads, warnings, notices) is
// written at once, after the request lines buffered before it, so the log
// keeps its order. A crash (not a shutdown) can lose the request lines of
// the last interval.
type loggers struct {
	// log writes each line at once.
	log *zap.Logger
	// requests buffers its lines.
	requests *zap.Logger
	// stop flushes the buffer and stops its flushing; the loggers must not
	// be used after it.
	stop func()
}

// newLoggers returns the loggers writing JSON lines at level to out; with
// a flushEvery of zero or less, request lines are written at once too.
func newLoggers(out io.Writer, level zapcore.Level, flushEvery time.Duration) loggers {
	if flushEvery <= 0 {
		log := newLogger(out, level)
		return loggers{log: log, requests: log, stop: func() { _ = log.Sync() }}
	}
	enc := logEncoder()
	// Syncing the buffer writes it out; the output itself (a pipe, mostly)
	// has nothing to sync.
	buf := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(writerOnly{out}), Size: logBufferSize, FlushInterval: flushEvery}
	return loggers{
		log:      zap.New(writeThrough{Core: zapcore.NewCore(logEncoder(), buf, level), out: buf}).Named("sidecar"),
		requests: zap.New(zapcore.NewCore(enc, buf, level)).Named("sidecar"),
		stop:     func() { _ = buf.Stop() },
	}
}

// logEncoder encodes the sidecar's JSON lines.
func logEncoder() zapcore.Encoder {
	cfg := zap.NewProductionEncoderConfig()
	cfg.TimeKey, cfg.EncodeTime = "ts", zapcore.ISO8601TimeEncoder
	return zapcore.NewJSONEncoder(cfg)
}

// writerOnly hides the Sync of an *os.File: an fsync of a pipe fails, and
// of a file costs a disk write per flush.
type writerOnly struct{ io.Writer }

// writeThrough is a core whose every entry flushes out, with the buffered
// request lines before it.
type writeThrough struct {
	zapcore.Core
	out zapcore.WriteSyncer
}

func (c writeThrough) With(fields []zapcore.Field) zapcore.Core {
	return writeThrough{Core: c.Core.With(fields), out: c.out}
}

func (c writeThrough) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c writeThrough) Write(e zapcore.Entry, fields []zapcore.Field) error {
	if err := c.Core.Write(e, fields); err != nil {
		return err
	}
	return c.out.Sync()
}
