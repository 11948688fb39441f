package ledger

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"tollgate.dev/tollgate/pkg/ledgerapi"
	"tollgate.dev/tollgate/pkg/proxyconfig"
)

// The files of a state directory.
const (
	snapshotFile  = "ledger-state.json"
	journalPrefix = "ledger-spend-"
)

// saved is what a sidecar keeps across restarts of its container (the
// state directory is an emptyDir of the pod): its epoch and sequence, the
// batch not yet acknowledged, the spend not yet sealed into a batch, and
// the allowance it last held. Spend of a settled request is appended to a
// journal at once (one small write), so a sidecar killed between two
// batches loses none; the snapshot is rewritten, with a new journal, when a batch
// is sealed or acknowledged.
type saved struct {
	Epoch string `json:"epoch"`
	// Seq is the sequence number of the last sealed batch.
	Seq uint64 `json:"seq"`
	// Unacked is the sealed batch the ledger has not acknowledged, with
	// the policy it reports for.
	Unacked       *ledgerapi.Batch `json:"unacked,omitempty"`
	UnackedPolicy string           `json:"unackedPolicy,omitempty"`
	// Open is the spend not yet sealed, by policy.
	Open map[string][]ledgerapi.PeriodSpend `json:"open,omitempty"`
	// Journal is the generation of the journal file that holds the spend
	// settled since this snapshot; older generations are in Open already.
	Journal uint64 `json:"journal"`
	// Held is the allowance last granted, so a restart with the ledger
	// down keeps enforcing it.
	Held *held `json:"held,omitempty"`
	// InFlight are the requests admitted and not settled yet, by ID, as
	// of this snapshot; the journal adds and settles others. A sidecar
	// killed while they ran cannot know what they cost: on restart each is
	// charged what it reserved, its most (never free).
	InFlight map[uint64]journalEntry `json:"inFlight,omitempty"`

	// abandoned are the requests found in flight when the state was
	// opened, now charged; for the log.
	abandoned []journalEntry
}

// held is an allowance as the ledger last granted it.
type held struct {
	Policy      string           `json:"policy"`
	PeriodStart time.Time        `json:"periodStart"`
	Allowance   ledgerapi.Amount `json:"allowance"`
	// Acked is the batch the allowance is net of.
	Acked uint64 `json:"acked"`
}

// journalEntry is one settled request, as appended to the journal.
type journalEntry struct {
	Policy     string           `json:"p"`
	Start      time.Time        `json:"s"`
	Cost       ledgerapi.Amount `json:"c"`
	Unverified bool             `json:"u,omitempty"`
	Released   ledgerapi.Amount `json:"r"`
	// ID names an admitted request: its admission (Admitted, with what
	// it reserved as Cost) is journaled before the request is sent, its
	// settlement under the same ID once it cost what it cost.
	ID       uint64 `json:"i,omitempty"`
	Admitted bool   `json:"a,omitempty"`
}

// store persists saved in a directory. Its methods are called with the
// ledger's lock held.
type store struct {
	dir     string
	journal *os.File // the current generation's, opened for appends
}

// open loads the state of dir, replaying the journal, or starts a new one
// with a fresh epoch. A state that cannot be read is set aside and a new
// one started: its spend cannot be counted twice (a new epoch is a new
// sequence) but may be lost, which is logged by the caller.
func openStore(dir string) (*store, *saved, error) {
	s := &store{dir: dir}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	st, err := s.load()
	if err != nil {
		bad := filepath.Join(dir, snapshotFile+".unreadable")
		_ = os.Rename(filepath.Join(dir, snapshotFile), bad)
		st = nil
		err = fmt.Errorf("the saved ledger state was unreadable and was moved to %s: %w", bad, err)
	}
	if st == nil {
		st = &saved{Epoch: newEpoch(), Open: map[string][]ledgerapi.PeriodSpend{}}
	}
	if st.Open == nil {
		st.Open = map[string][]ledgerapi.PeriodSpend{}
	}
	chargeAbandoned(st)
	// The journal's entries are in Open now: a new generation starts, so
	// that a second restart does not replay them again.
	if serr := s.save(st); serr != nil {
		return nil, nil, serr
	}
	return s, st, err
}

// load reads the snapshot and adds the journal's entries to its Open.
func (s *store) load() (*saved, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st saved
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, err
	}
	if st.Open == nil {
		st.Open = map[string][]ledgerapi.PeriodSpend{}
	}
	journal, err := os.ReadFile(s.journalPath(st.Journal))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(journal))
	for sc.Scan() {
		var e journalEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue // a line cut by a crash mid-write: the request was not settled in full
		}
		replay(&st, e)
	}
	return &st, nil
}

// replay applies one journal entry to st.
func replay(st *saved, e journalEntry) {
	if e.Admitted {
		if st.InFlight == nil {
			st.InFlight = map[uint64]journalEntry{}
		}
		st.InFlight[e.ID] = e
		return
	}
	if e.ID != 0 {
		delete(st.InFlight, e.ID)
	}
	addSpend(st.Open, e)
}

// chargeAbandoned charges each request that was in flight when the
// sidecar stopped what it reserved, as spend of the period it was admitted
// in: its answer may have reached the app, and its cost is unknown.
func chargeAbandoned(st *saved) {
	for _, e := range st.InFlight {
		addSpend(st.Open, journalEntry{Policy: e.Policy, Start: e.Start, Cost: e.Cost, Unverified: e.Unverified})
		st.abandoned = append(st.abandoned, e)
	}
	st.InFlight = nil
}

// write replaces the snapshot atomically; only save calls it.
func (s *store) write(st *saved) error {
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, snapshotFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save the ledger state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save the ledger state: %w", err)
	}
	return nil
}

// save writes st with a new journal generation and switches appends to
// it; the old journal is removed once the snapshot that folds it in is in
// place. Every save starts a new journal: st.Open already holds what the
// current one recorded, and a snapshot that kept pointing at it would have
// that spend replayed on top of itself after a crash.
func (s *store) save(st *saved) error {
	old := st.Journal
	st.Journal++
	if err := s.write(st); err != nil {
		st.Journal = old
		if s.journal == nil { // at open: keep appending to the old one
			return s.openJournal(old)
		}
		return err
	}
	if err := s.openJournal(st.Journal); err != nil {
		return err
	}
	_ = os.Remove(s.journalPath(old))
	return nil
}

// append records one admitted or settled request.
func (s *store) append(e journalEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = s.journal.Write(append(line, '\n'))
	return err
}

func (s *store) openJournal(gen uint64) error {
	if s.journal != nil {
		_ = s.journal.Close()
	}
	f, err := os.OpenFile(s.journalPath(gen), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open the spend journal: %w", err)
	}
	s.journal = f
	return nil
}

func (s *store) journalPath(gen uint64) string {
	return filepath.Join(s.dir, journalPrefix+strconv.FormatUint(gen, 10)+".log")
}

func (s *store) close() {
	if s.journal != nil {
		_ = s.journal.Close()
	}
}

// addSpend adds one entry to the open spend of its policy and period.
func addSpend(open map[string][]ledgerapi.PeriodSpend, e journalEntry) {
	periods := open[e.Policy]
	i := 0
	for i < len(periods) && !periods[i].Start.Equal(e.Start) {
		i++
	}
	if i == len(periods) {
		periods = append(periods, ledgerapi.PeriodSpend{Start: e.Start})
	}
	p := &periods[i]
	if e.Cost.IsPositive() || !e.Released.IsPositive() {
		p.Requests++
	}
	p.Spent = add(p.Spent, e.Cost.USD)
	p.Released = add(p.Released, e.Released.USD)
	if e.Unverified {
		p.Unverified = add(p.Unverified, e.Cost.USD)
	}
	open[e.Policy] = periods
}

func add(a ledgerapi.Amount, u proxyconfig.USD) ledgerapi.Amount {
	return ledgerapi.NewAmount(a.Add(u))
}

func newEpoch() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
