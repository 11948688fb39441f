package ledger

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"tollgate.dev/tollgate/api/v1alpha1"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// Defaults of Options.
const (
	DefaultLease  = 2 * time.Minute
	DefaultSync   = time.Second
	DefaultCommit = 2 * time.Second
)

// Options configure a Ledger.
type Options struct {
	// Client reads policies, pods and ConfigMaps from the manager's cache
	// and writes status.
	Client client.Client
	// APIReader reads a policy fresh before its status is written.
	APIReader client.Reader
	// Recorder emits the budget's Events.
	Recorder events.EventRecorder
	// Log is the ledger's logger.
	Log logr.Logger
	// Lease is how long an allowance stays a pod's without a sync; a gone
	// pod's allowance returns to the pool after it. Default DefaultLease.
	Lease time.Duration
	// Sync is how soon a sidecar syncs again at the latest. Default
	// DefaultSync.
	Sync time.Duration
	// Commit is how often a policy's status is written. Syncs wait for the
	// next commit, so that what they are told is durable (those a request
	// waits on for less: see Expedite). Default DefaultCommit.
	Commit time.Duration
	// Expedite is how soon a policy's status is written again, at the
	// earliest, while a request waits on one of its syncs: such a sync
	// does not wait for the next Commit. Default DefaultExpedite, and at
	// most Commit.
	Expedite time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Ledger is the operator's budget ledger. Its HTTP handler (Handler) and
// its committer (Run) are started by the leader only.
type Ledger struct {
	opts  Options
	authn *Authenticator

	mu sync.Mutex // guards books
	// books holds an entry per policy with a budget or in DryRun mode,
	// restored from the policy's status the first time it is needed.
	books map[types.NamespacedName]*entry
	// closed is closed once the ledger wrote its books a last time: a sync
	// still waiting then will not become durable here.
	closed    chan struct{}
	closeOnce sync.Once
	// hurried wakes the committer for a sync a request waits on.
	hurried chan struct{}
}

// entry is one policy's book (of its budget) and tally (of its dry run),
// and the state of their persistence.
type entry struct {
	mu sync.Mutex // guards every field
	// book is nil when the policy has no budget; tally when it is not in
	// DryRun mode. An edit that adds or removes either drops the entry at
	// the next commit, and the next sync restores a new one from status.
	book  *Book
	tally *Tally
	// committed is the book version the policy's status holds;
	// tallyCommitted the tally's.
	committed      uint64
	tallyCommitted uint64
	// written is closed and replaced at every commit, waking the syncs
	// that wait for one.
	written chan struct{}
	// lastErr is the last commit's error, for the syncs that time out.
	lastErr error
	// conditions are the budget conditions last written, to emit an Event
	// on each transition only.
	conditions map[string]string
	// silent is how many silent pods the last write counted.
	silent int
	// changed is closed and replaced whenever the book may have freed
	// allowance, waking the syncs that wait for some (awaitAllowance).
	changed chan struct{}
	// waiters counts the syncs a request waits on in flight; while there
	// are any, the committer writes the book without waiting for Commit.
	waiters int
	// lastWrite is when the committer last tried to write the book.
	lastWrite time.Time
}

// New returns a ledger; Run starts its committer.
func New(opts Options) *Ledger {
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Sync <= 0 {
		opts.Sync = DefaultSync
	}
	if opts.Commit <= 0 {
		opts.Commit = DefaultCommit
	}
	if opts.Expedite <= 0 {
		opts.Expedite = DefaultExpedite
	}
	opts.Expedite = min(opts.Expedite, opts.Commit)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Ledger{
		opts:    opts,
		authn:   &Authenticator{Client: opts.Client, Now: opts.Now},
		books:   map[types.NamespacedName]*entry{},
		closed:  make(chan struct{}),
		hurried: make(chan struct{}, 1),
	}
}

// close tells the syncs still waiting that no write will come.
func (l *Ledger) close() { l.closeOnce.Do(func() { close(l.closed) }) }

// tracked reports whether the ledger keeps an entry for p: for its budget,
// its dry run, or both.
func tracked(p *v1alpha1.LLMPolicy) bool {
	return p.Spec.Budget != nil || p.Spec.Mode == v1alpha1.ModeDryRun
}

// dryRunPeriod is the period p's dry-run counts are kept for: its
// budget's, else the day.
func dryRunPeriod(p *v1alpha1.LLMPolicy) proxyconfig.BudgetPeriod {
	if p.Spec.Budget != nil {
		return proxyconfig.BudgetPeriod(budgetPeriod(p))
	}
	return proxyconfig.Daily
}

// fits reports whether e was made for p as p is now: with a book exactly
// when p has a budget, with a tally exactly when it is in DryRun mode.
func (e *entry) fits(p *v1alpha1.LLMPolicy) bool {
	return (e.book != nil) == (p.Spec.Budget != nil) && (e.tally != nil) == (p.Spec.Mode == v1alpha1.ModeDryRun)
}

// stopped reports whether the ledger stopped serving (close).
func (l *Ledger) stopped() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// settingsOf returns the ledger's view of a policy's budget.
func settingsOf(p *v1alpha1.LLMPolicy) (Settings, error) {
	b := p.Spec.Budget
	limit, err := proxyconfig.ParseUSD(b.Limit)
	if err != nil {
		return Settings{}, fmt.Errorf("spec.budget.limit: %w", err)
	}
	period := proxyconfig.BudgetPeriod(b.Period)
	if period == "" {
		period = proxyconfig.Monthly
	}
	soft := int(b.SoftLimitPercent)
	if soft == 0 {
		soft = 80
	}
	return Settings{Period: period, Limit: limit, SoftLimitPercent: soft}, nil
}

// entryFor returns the entry of policy p, restoring its book from p's
// status on first use, with p's current settings applied.
func (l *Ledger) entryFor(ctx context.Context, p *v1alpha1.LLMPolicy) (*entry, error) {
	key := client.ObjectKeyFromObject(p)
	var settings Settings
	if p.Spec.Budget != nil {
		var err error
		if settings, err = settingsOf(p); err != nil {
			return nil, err
		}
	}
	l.mu.Lock()
	e := l.books[key]
	l.mu.Unlock()
	if e != nil {
		e.mu.Lock()
		defer e.mu.Unlock()
		if !e.fits(p) {
			// The policy gained or lost its budget or its dry run since;
			// until the next commit drops this entry, the sync waits.
			return nil, fmt.Errorf("LLMPolicy %s changed what the ledger keeps for it; retry", key)
		}
		if e.book != nil {
			e.book.SetSettings(settings, l.opts.Now())
		}
		if e.tally != nil {
			e.tally.SetPeriod(dryRunPeriod(p), l.opts.Now())
		}
		return e, nil
	}
	// Restore from the status as the API server holds it now, never from
	// a cache that may lag: the previous leader's last write must count.
	var fresh v1alpha1.LLMPolicy
	if err := l.opts.APIReader.Get(ctx, key, &fresh); err != nil {
		return nil, fmt.Errorf("read LLMPolicy %s: %w", key, err)
	}
	e = &entry{written: make(chan struct{}), changed: make(chan struct{}), conditions: conditionsOf(&fresh)}
	if p.Spec.Budget != nil {
		book, err := Restore(fresh.Status.Budget, settings, Timing{Lease: l.opts.Lease, Sync: l.opts.Sync}, l.opts.Now())
		if err != nil {
			return nil, fmt.Errorf("restore the budget of LLMPolicy %s from its status: %w", key, err)
		}
		e.book, e.committed = book, book.Version()
	}
	if p.Spec.Mode == v1alpha1.ModeDryRun {
		e.tally = RestoreTally(fresh.Status.DryRun, dryRunPeriod(p), l.opts.Now())
		e.tallyCommitted = e.tally.Version()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if e := l.books[key]; e != nil { // restored concurrently
		return e, nil
	}
	l.books[key] = e
	return e, nil
}

// errNotDurable is returned to a sync whose answer could not be written in
// time; the sidecar sends its batch again.
var errNotDurable = errors.New("the ledger could not write the policy's status in time")

// waitDurable waits until e's status holds version v.
func (e *entry) waitDurable(ctx context.Context, v uint64, closed <-chan struct{}) error {
	for {
		e.mu.Lock()
		committed, written, lastErr := e.committed, e.written, e.lastErr
		e.mu.Unlock()
		if committed >= v {
			return nil
		}
		select {
		case <-written:
		case <-closed:
			return fmt.Errorf("%w: this replica stopped serving the ledger", errNotDurable)
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("%w: %v", errNotDurable, lastErr)
			}
			return errNotDurable
		}
	}
}

// Run writes the books of every policy into status every Commit (a book
// a request waits on sooner, see commitHurried), gives back the
// allowances of gone pods, and writes a last time when ctx ends.
func (l *Ledger) Run(ctx context.Context) error {
	tick := time.NewTicker(l.opts.Commit)
	defer tick.Stop()
	var soon <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			// A last write at shutdown, on a context of its own.
			final, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			l.commitAll(final)
			cancel()
			l.close()
			return nil
		case <-tick.C:
			l.commitAll(ctx)
		case <-l.hurried:
		case <-soon:
		}
		soon = l.commitHurried(ctx)
	}
}

// commitAll writes every book that changed, or whose period or expiries
// move with the clock.
func (l *Ledger) commitAll(ctx context.Context) {
	l.mu.Lock()
	keys := make([]types.NamespacedName, 0, len(l.books))
	for k := range l.books {
		keys = append(keys, k)
	}
	l.mu.Unlock()
	for _, key := range keys {
		l.mu.Lock()
		e := l.books[key]
		l.mu.Unlock()
		if e != nil {
			l.commitOne(ctx, key, e)
		}
	}
}

// commitOne writes one entry, dropping it when its policy is gone or no
// longer fits it (its budget or its dry run came or went).
func (l *Ledger) commitOne(ctx context.Context, key types.NamespacedName, e *entry) {
	err := l.commit(ctx, key, e)
	switch {
	case err == nil:
	case ctx.Err() != nil:
		// Stopping: Run writes a last time on a context of its own, and the
		// syncs this write would have answered wait for that one.
	case apierrors.IsNotFound(err) || errors.Is(err, errUntracked):
		l.mu.Lock()
		delete(l.books, key) // the policy is gone
		l.mu.Unlock()
		forget(key)
	default:
		l.opts.Log.Error(err, "budget status not written; the syncs it holds wait for the next try", "policy", key.String())
	}
}

// ErrBadSync describes a sync the ledger refuses; Handler maps it to a
// status and code.
type ErrBadSync struct {
	Status int
	Code   string
	Msg    string
}

func (e *ErrBadSync) Error() string { return e.Msg }

func refusal(status int, code, format string, args ...any) *ErrBadSync {
	return &ErrBadSync{Status: status, Code: code, Msg: fmt.Sprintf(format, args...)}
}
