package store

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// versionSlots is the number of learner buckets of credentialVersions. A
// write to one learner's credentials invalidates the cached pages of every
// learner of its bucket: with 4,096 buckets a write invalidates about
// learners/4,096 other learners' pages, which costs each of them one
// database read, while the table stays 64 KB whatever the number of
// learners.
const versionSlots = 4096

// credentialVersions tells readers in this process whether a learner's
// credentials may have changed since they last looked, so that a page of
// GET credentials can be answered from memory (clrapi's page cache).
//
// Each write to the credentials table through this process brackets
// itself: begin (before the statement runs) increments the bucket's
// generation and its count of writes in flight; end (after the statement,
// or after the commit or rollback of the transaction it ran in) decrements
// the count and increments the generation again. A reader asks for the
// version before reading the database; it is "unknown" while a write is in
// flight. If the version is the same later, no write began since, and none
// was in flight then, so the database still holds what the reader read:
// every write committed before the reader's read had ended before its
// version was taken, and no other write has begun.
//
// This only holds for writes made through this process: the SQLite store
// is the only writer of its file (the operator runs one replica on
// SQLite); PostgreSQL stores, shared by replicas, report no version.
type credentialVersions struct {
	seed  maphash.Seed
	slots [versionSlots]versionSlot
}

type versionSlot struct {
	gen     atomic.Uint64
	writing atomic.Int64
}

func newCredentialVersions() *credentialVersions {
	return &credentialVersions{seed: maphash.MakeSeed()}
}

func (v *credentialVersions) slot(learnerID string) *versionSlot {
	return &v.slots[maphash.String(v.seed, learnerID)%versionSlots]
}

// version is the current version of learnerID's credentials, ok false
// while a write to them may be in flight.
func (v *credentialVersions) version(learnerID string) (uint64, bool) {
	s := v.slot(learnerID)
	// The generation is read before and after the count: a write that
	// began in between changed it (begin increments the generation after
	// the count, end before it).
	g := s.gen.Load()
	if s.writing.Load() != 0 {
		return 0, false
	}
	if s.gen.Load() != g {
		return 0, false
	}
	return g, true
}

func (s *versionSlot) begin() {
	s.writing.Add(1)
	s.gen.Add(1)
}

func (s *versionSlot) end() {
	s.gen.Add(1)
	s.writing.Add(-1)
}

// txWrites are the buckets a transaction has begun writing to; they end
// after its commit or rollback.
type txWrites struct {
	mu    sync.Mutex
	slots map[*versionSlot]struct{}
}

// beginCredentialWrite marks learners' credentials as being written and
// returns the function that ends it: a no-op inside a transaction (InTx
// ends the transaction's writes after commit or rollback), the end of the
// write outside one. Call it before the statement runs.
func (s *sqlStore) beginCredentialWrite(learnerIDs ...string) (end func()) {
	v := s.db.versions
	if v == nil {
		return func() {}
	}
	if s.txw != nil {
		s.txw.mu.Lock()
		defer s.txw.mu.Unlock()
		if s.txw.slots == nil {
			s.txw.slots = map[*versionSlot]struct{}{}
		}
		for _, id := range learnerIDs {
			// A bucket is begun once per transaction, however many of its
			// learners' credentials the transaction writes.
			sl := v.slot(id)
			if _, seen := s.txw.slots[sl]; !seen {
				sl.begin()
				s.txw.slots[sl] = struct{}{}
			}
		}
		return func() {}
	}
	slots := make([]*versionSlot, 0, len(learnerIDs))
	for _, id := range learnerIDs {
		sl := v.slot(id)
		sl.begin()
		slots = append(slots, sl)
	}
	return func() {
		for _, sl := range slots {
			sl.end()
		}
	}
}

// endTx ends the writes of a finished transaction.
func (w *txWrites) endTx() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for sl := range w.slots {
		sl.end()
	}
	w.slots = nil
}

// CredentialsVersion implements Store.
func (s *sqlStore) CredentialsVersion(learnerID string) (uint64, bool) {
	if s.db.versions == nil || s.tx != nil {
		return 0, false
	}
	return s.db.versions.version(learnerID)
}
