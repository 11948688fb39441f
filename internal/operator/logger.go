package operator

import (
	"io"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
)

// NewLogger returns a zap JSON logger at level as a logr.Logger, and makes
// it controller-runtime's. (Main makes it client-go's too, through klog,
// so that every line the process writes is one JSON object; klog allows
// that only before any client runs.)
//
// Each key appears once per line: controller-runtime's loggers already
// carry keys (a reconcile's namespace and name; cert-controller adds a
// webhook's name and gvk both as values of its logger and of its line),
// and zap would write such a key twice, which log pipelines read
// differently (most keep the last value). An error is logged by its
// message only: zap adds the %+v of an error that formats itself
// (errorVerbose), which for github.com/pkg/errors is a stack trace. An
// update conflict, which its writer retries, is logged at debug level.
func NewLogger(out io.Writer, level zapcore.Level) logr.Logger {
	log := jsonLogger(out, level)
	ctrl.SetLogger(log)
	return log
}

// jsonLogger is NewLogger without making it anyone else's.
func jsonLogger(out io.Writer, level zapcore.Level) logr.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.AddSync(out), level)
	return logr.New(newUniqueKeys(zapr.NewLogger(zap.New(core)).GetSink()))
}

// uniqueKeys is a logr.LogSink that writes each key once per line. It
// keeps the values of WithValues itself, rather than handing them to the
// sink it wraps (which would encode them at once), and merges them with
// each line's: a later value of a key replaces an earlier one, in the
// earlier one's place. The values are never changed after creation, so a
// uniqueKeys is safe for concurrent use as its sink is.
type uniqueKeys struct {
	sink   logr.LogSink
	values []any // key/value pairs, each string key once
}

func newUniqueKeys(sink logr.LogSink) *uniqueKeys {
	// One frame more between the caller and the sink: keep call sites
	// right if the sink reports them.
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		sink = cd.WithCallDepth(1)
	}
	return &uniqueKeys{sink: sink}
}

func (u *uniqueKeys) Init(info logr.RuntimeInfo) { u.sink.Init(info) }

func (u *uniqueKeys) Enabled(level int) bool { return u.sink.Enabled(level) }

func (u *uniqueKeys) Info(level int, msg string, kvs ...any) {
	u.sink.Info(level, msg, merge(u.values, kvs, "")...)
}

// Error logs err under the key "error", which the sink adds: a value of
// that key is dropped. An update conflict is logged at debug level: the
// writer read an older version of the object, and reconcilers (the
// operator's, controller-runtime's, cert-controller's) write again on a
// fresh copy; it is how optimistic concurrency works, not a failure.
func (u *uniqueKeys) Error(err error, msg string, kvs ...any) {
	if apierrors.IsConflict(err) {
		u.sink.Info(debug, msg, merge(u.values, append(kvs[:len(kvs):len(kvs)], "error", err.Error()), "")...)
		return
	}
	if err != nil {
		err = plainError{err}
	}
	u.sink.Error(err, msg, merge(u.values, kvs, "error")...)
}

// debug is logr's verbosity of debug lines (zap's debug level).
const debug = 1

func (u *uniqueKeys) WithValues(kvs ...any) logr.LogSink {
	return &uniqueKeys{sink: u.sink, values: merge(u.values, kvs, "")}
}

func (u *uniqueKeys) WithName(name string) logr.LogSink {
	return &uniqueKeys{sink: u.sink.WithName(name), values: u.values}
}

func (u *uniqueKeys) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := u.sink.(logr.CallDepthLogSink); ok {
		return &uniqueKeys{sink: cd.WithCallDepth(depth), values: u.values}
	}
	return u
}

// merge returns the key/value pairs of base followed by those of kvs, each
// string key once (a later value replacing an earlier one in place) and
// without the key drop. Errors among the values are logged by their
// message. Pairs whose key is not a string, and an odd value at the end,
// are kept as they are, for the sink to report.
func merge(base, kvs []any, drop string) []any {
	if len(kvs) == 0 && drop == "" {
		return base
	}
	out := make([]any, 0, len(base)+len(kvs))
	at := make(map[string]int, (len(base)+len(kvs))/2) // key -> index of its value in out
	add := func(pairs []any) {
		for i := 0; i < len(pairs); i += 2 {
			if i+1 == len(pairs) {
				out = append(out, pairs[i])
				break
			}
			k, v := pairs[i], pairs[i+1]
			if err, ok := v.(error); ok {
				v = plainError{err}
			}
			key, ok := k.(string)
			switch {
			case !ok:
				out = append(out, k, v)
			case key == drop:
			case at[key] > 0:
				out[at[key]] = v
			default:
				out = append(out, k, v)
				at[key] = len(out) - 1
			}
		}
	}
	add(base)
	add(kvs)
	return out
}

// plainError is an error that does not format itself, so that zap logs its
// message and no errorVerbose.
type plainError struct{ error }

func (e plainError) Unwrap() error { return e.error }

// managerLogger is log for the manager, with one of its lines told as
// what it is. The manager releases its leader lease when it stops
// (LeaderElectionReleaseOnCancel, so that another replica leads at once),
// and client-go's elector then calls OnStoppedLeading as for a lost lease:
// on every normal shutdown the manager logged "leader election lost" at
// error level, after its stop sequence had begun. A lease really lost while
// the operator runs ends mgr.Start with that error instead, which Main
// logs as an error.
func managerLogger(log logr.Logger) logr.Logger {
	if log.GetSink() == nil {
		return log // logr.Discard()
	}
	return logr.New(releasedLease{log.GetSink()})
}

// Controller-runtime's words for a lease released on shutdown.
const (
	msgAfterStop = "error received after stop sequence was engaged"
	errLostLease = "leader election lost"
)

// releasedLease logs the manager's report of a lease released on shutdown
// at info level; everything else passes through.
type releasedLease struct{ sink logr.LogSink }

func (r releasedLease) Init(info logr.RuntimeInfo) { r.sink.Init(info) }

func (r releasedLease) Enabled(level int) bool { return r.sink.Enabled(level) }

func (r releasedLease) Info(level int, msg string, kvs ...any) { r.sink.Info(level, msg, kvs...) }

func (r releasedLease) Error(err error, msg string, kvs ...any) {
	if msg == msgAfterStop && err != nil && err.Error() == errLostLease {
		r.sink.Info(0, "leader lease released on shutdown", kvs...)
		return
	}
	r.sink.Error(err, msg, kvs...)
}

func (r releasedLease) WithValues(kvs ...any) logr.LogSink {
	return releasedLease{r.sink.WithValues(kvs...)}
}

func (r releasedLease) WithName(name string) logr.LogSink {
	return releasedLease{r.sink.WithName(name)}
}

func (r releasedLease) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := r.sink.(logr.CallDepthLogSink); ok {
		return releasedLease{cd.WithCallDepth(depth)}
	}
	return r
}
