// Package store is the persistence layer of clr-server: OAuth clients, codes
// and tokens, learners and their profiles, credentials exactly as stored,
// learning records posted through the issuing API, idempotency keys, status
// lists and share links.
//
// One interface, two implementations (SQLite for a single replica and the
// standalone --dev mode, PostgreSQL for several replicas), proven equivalent
// by the shared conformance suite in store/storetest. Secrets (client
// secrets, codes, tokens, share links) are stored hashed by the caller: the
// store never sees them in clear.
//
// Times are stored with microsecond precision (PostgreSQL's resolution); a
// value read back equals the value written truncated to the microsecond, in UTC.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Errors returned by every implementation; test with errors.Is.
var (
	// ErrNotFound: no record with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with that unique key already exists.
	ErrConflict = errors.New("store: already exists")
	// ErrAlreadyUsed: a single-use record (authorization code, refresh
	// token) was presented again. The record is returned alongside, so the
	// caller can revoke what was granted from it (RFC 6749 §4.1.2, §10.4).
	ErrAlreadyUsed = errors.New("store: already used")
	// ErrExpired: the record exists but is past its expiry.
	ErrExpired = errors.New("store: expired")
	// ErrRevoked: the token or share link was revoked.
	ErrRevoked = errors.New("store: revoked")
	// ErrInvalid: the record handed to the store is missing a required field.
	ErrInvalid = errors.New("store: invalid record")
)

// Store is everything clr-server persists. Implementations are safe for
// concurrent use. Methods called on the Store passed to InTx's function run
// inside that transaction.
type Store interface {
	// InTx runs fn in one transaction: committed if fn returns nil, rolled
	// back otherwise (and on panic, which is re-raised). Calling InTx on the
	// transaction's Store joins the same transaction.
	InTx(ctx context.Context, fn func(tx Store) error) error
	// Ping reports whether the database is reachable (used by /readyz).
	Ping(ctx context.Context) error
	// Close releases the connections. Only on the root Store.
	Close() error

	// OAuth 2.0 clients (RFC 7591 dynamic registration and configured
	// institutional clients).
	CreateClient(ctx context.Context, c *Client) error // ErrConflict
	GetClient(ctx context.Context, id string) (*Client, error)
	DeleteClient(ctx context.Context, id string) error
	CountClients(ctx context.Context) (int, error)

	// Authorization codes (stored by hash).
	CreateAuthCode(ctx context.Context, c *AuthCode) error
	// ConsumeAuthCode marks the code used at now and returns it, atomically:
	// of two concurrent calls exactly one succeeds. A code used before
	// returns (code, ErrAlreadyUsed); one past ExpiresAt (code, ErrExpired),
	// and is not marked used; an unknown hash ErrNotFound.
	ConsumeAuthCode(ctx context.Context, codeHash string, now time.Time) (*AuthCode, error)

	// Access and refresh tokens (stored by hash).
	CreateToken(ctx context.Context, t *Token) error
	// GetToken returns the token whatever its state; callers check
	// Active(now) (or ExpiresAt/RevokedAt themselves).
	GetToken(ctx context.Context, hash string) (*Token, error)
	// RotateRefreshToken atomically revokes the refresh token oldHash (at
	// now) and stores the replacements. It fails with (old, ErrAlreadyUsed)
	// if the old token was already revoked (a replay: the caller should
	// RevokeGrant), (old, ErrExpired) if expired, ErrNotFound if unknown or
	// not a refresh token. Of two concurrent rotations exactly one succeeds.
	RotateRefreshToken(ctx context.Context, oldHash string, now time.Time, replacements ...*Token) (*Token, error)
	// RevokeToken revokes one token (RFC 7009). Unknown hashes: ErrNotFound.
	RevokeToken(ctx context.Context, hash string, at time.Time) error
	// RevokeGrant revokes every token of a grant (one authorization).
	RevokeGrant(ctx context.Context, grantID string, at time.Time) (int, error)
	// DeleteExpiredTokens removes tokens and codes that expired before t.
	DeleteExpiredTokens(ctx context.Context, before time.Time) (int, error)

	// Login sessions of learners (stored by hash of the cookie value).
	CreateSession(ctx context.Context, s *Session) error
	// GetSession returns the session whatever its expiry; callers compare
	// ExpiresAt with their clock.
	GetSession(ctx context.Context, hash string) (*Session, error)
	DeleteSession(ctx context.Context, hash string) error

	// Learners and their Open Badges Profile.
	// EnsureLearner creates the learner if missing (with an empty profile)
	// and returns the stored record.
	EnsureLearner(ctx context.Context, id string, now time.Time) (*Learner, error)
	GetLearner(ctx context.Context, id string) (*Learner, error)
	// PutLearnerProfile replaces the profile JSON (creating the learner if
	// missing).
	PutLearnerProfile(ctx context.Context, id string, profile json.RawMessage, now time.Time) (*Learner, error)

	// Credentials, keyed by (LearnerID, ID).
	// PutCredential inserts or replaces; created reports which. On replace,
	// CreatedAt and Source of the stored record are kept unless the new
	// Source is SourceIssued.
	PutCredential(ctx context.Context, c *Credential) (created bool, err error)
	// InsertCredentials inserts many new credentials in one statement batch
	// (bulk issuance); any existing key fails the whole call with
	// ErrConflict. Run it inside InTx for atomicity with other writes.
	InsertCredentials(ctx context.Context, cs []*Credential) error
	GetCredential(ctx context.Context, learnerID, id string) (*Credential, error)
	// GetCredentialByID finds a credential by id alone (public resolution,
	// verification); a credential issued here wins over upserted copies.
	GetCredentialByID(ctx context.Context, id string) (*Credential, error)
	// ListCredentials returns one page, ordered by (UpdatedAt, ID), and the
	// total number matching the query (for X-Total-Count).
	ListCredentials(ctx context.Context, q CredentialQuery) ([]*Credential, int, error)
	// ListCredentialData is ListCredentials for a reader that needs only
	// each credential's format and stored bytes (GET credentials): fn is
	// called once per credential of the page, in order, with data valid
	// only during the call (it is the database driver's buffer, not a
	// copy). It returns the total, or fn's error.
	ListCredentialData(ctx context.Context, q CredentialQuery, fn func(format string, data []byte) error) (total int, err error)
	DeleteCredential(ctx context.Context, learnerID, id string) error
	// CredentialsVersion is a version of learnerID's credentials for a
	// cache of what was read of them: read it before reading the
	// credentials, and keep what was read tagged with it; the read is
	// still what the database holds as long as CredentialsVersion returns
	// the same version (with ok). ok is false while a write to them is in
	// flight, inside a transaction, and always for a store that cannot see
	// every write (PostgreSQL, shared by replicas): then nothing may be
	// cached. Only writes through this process's store are seen, which is
	// why the SQLite store, the only writer of its file, is the one that
	// reports versions.
	CredentialsVersion(learnerID string) (version uint64, ok bool)

	// Learning records posted through the issuing API.
	CreateLearningRecord(ctx context.Context, r *LearningRecord) error // ErrConflict
	GetLearningRecord(ctx context.Context, id string) (*LearningRecord, error)
	ListLearningRecords(ctx context.Context, learnerID string) ([]*LearningRecord, error)

	// Idempotency keys: unique per (ClientID, Key). Put inside the same
	// InTx as the issuance it records; a second Put of the same key fails
	// with ErrConflict, and the caller answers with Get's stored response.
	PutIdempotency(ctx context.Context, r *IdempotencyRecord) error
	GetIdempotency(ctx context.Context, clientID, key string) (*IdempotencyRecord, error)

	// Status lists.
	// AllocateStatusIndex hands out the next free index of the current list
	// of (issuer, purpose) to credentialID, opening a new list of listSize
	// entries when the current one is full. The index is unique per list by
	// a database constraint, so concurrent replicas never share one.
	AllocateStatusIndex(ctx context.Context, issuer, purpose, credentialID string, listSize int, now time.Time) (*StatusEntry, error)
	GetStatusList(ctx context.Context, id string) (*StatusList, error)
	// ListStatusLists lists an issuer's lists (all issuers if issuer == "").
	ListStatusLists(ctx context.Context, issuer string) ([]*StatusList, error)
	// StatusEntriesForCredential returns every entry allocated to a credential.
	StatusEntriesForCredential(ctx context.Context, credentialID string) ([]*StatusEntry, error)
	// SetStatusEntry sets one bit and marks its list ChangedAt = now.
	SetStatusEntry(ctx context.Context, listID string, index int, value bool, now time.Time) error
	// SetStatusIndexes returns the indexes whose bit is set, ascending.
	SetStatusIndexes(ctx context.Context, listID string) ([]int, error)
	// PutStatusListCredential stores the list's current signed credential.
	PutStatusListCredential(ctx context.Context, listID string, data []byte, format string, signedAt time.Time) error

	// Per-credential status (revoked / suspended, with a reason).
	PutCredentialStatus(ctx context.Context, s *CredentialStatus) error
	// GetCredentialStatus returns ErrNotFound for a credential never
	// revoked or suspended (i.e. active).
	GetCredentialStatus(ctx context.Context, credentialID string) (*CredentialStatus, error)

	// Share links (unguessable token, stored by hash).
	CreateShareLink(ctx context.Context, l *ShareLink) error
	// GetShareLink returns the link whatever its state (RevokedAt set for
	// revoked links): the verification page says so rather than 404.
	GetShareLink(ctx context.Context, tokenHash string) (*ShareLink, error)
	RevokeShareLink(ctx context.Context, tokenHash string, at time.Time) error
	ListShareLinks(ctx context.Context, learnerID, credentialID string) ([]*ShareLink, error)
}

// Client is a registered OAuth 2.0 client.
type Client struct {
	ID string
	// SecretHash is the hash of the client secret (the caller's scheme);
	// empty for public clients.
	SecretHash   string
	Name         string
	RedirectURIs []string
	Scopes       []string
	GrantTypes   []string
	// Metadata is the full RFC 7591 client metadata as registered.
	Metadata  json.RawMessage
	CreatedAt time.Time
}

// AuthCode is an authorization code grant in flight.
type AuthCode struct {
	CodeHash            string
	ClientID            string
	LearnerID           string
	RedirectURI         string
	Scopes              []string
	CodeChallenge       string
	CodeChallengeMethod string
	// GrantID ties the tokens issued from this code together (revoked as a
	// whole on replay).
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// Token kinds.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// Token is an opaque access or refresh token.
type Token struct {
	Hash     string
	Kind     string // TokenAccess or TokenRefresh
	ClientID string
	// Subject is the learner id for authorization code grants, the client
	// id for client-credentials grants.
	Subject   string
	Scopes    []string
	GrantID   string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Active reports whether the token is usable at now.
func (t *Token) Active(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Session is a learner's login session.
type Session struct {
	Hash      string
	LearnerID string
	// Data is whatever the login flow keeps (e.g. pending authorization).
	Data      json.RawMessage
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Learner is a learner known to this host.
type Learner struct {
	ID string
	// Profile is the learner's Open Badges 3.0 Profile JSON ("{}" if unset).
	Profile   json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Credential formats.
const (
	// FormatJSON is a credential as JSON (embedded proof or none).
	FormatJSON = "json"
	// FormatJWS is a compact JWS (VC-JWT) as text.
	FormatJWS = "jws"
)

// Credential sources.
const (
	// SourceIssued: signed by this host.
	SourceIssued = "issued"
	// SourceUpserted: posted by a client through POST credentials.
	SourceUpserted = "upserted"
)

// Credential is one stored credential, exactly as received or issued.
type Credential struct {
	// ID is the credential's id (the VC id / jti).
	ID        string
	LearnerID string
	// Issuer is the issuer's id (DID or URL).
	Issuer string
	// Type is the most specific VC type, e.g. ClrCredential,
	// AchievementCredential.
	Type string
	// Format is FormatJSON or FormatJWS.
	Format string
	// Data is the exact bytes; GET returns them unchanged.
	Data   []byte
	Source string
	// CreatedAt is set on first insert; UpdatedAt on every write (it is
	// what "since" filters on).
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CredentialQuery selects credentials of one learner.
type CredentialQuery struct {
	LearnerID string
	// Since, if not zero, keeps credentials with UpdatedAt >= Since.
	Since time.Time
	// Type and Format, if set, filter on those fields.
	Type   string
	Format string
	// Limit <= 0 means no limit.
	Limit  int
	Offset int
}

// LearningRecord is one posted learning experience or assessment, with the
// credentials issued from it.
type LearningRecord struct {
	ID        string
	LearnerID string
	Issuer    string
	// Kind says what it is: course, internship, research, service,
	// study-abroad, competency-assessment, ...
	Kind string
	// Data is the record as posted (JSON).
	Data          json.RawMessage
	CredentialIDs []string
	CreatedAt     time.Time
}

// IdempotencyRecord is the remembered outcome of a request with an
// Idempotency-Key.
type IdempotencyRecord struct {
	ClientID string
	Key      string
	// RequestHash lets the caller tell a true retry from a reused key.
	RequestHash string
	StatusCode  int
	Response    []byte
	CreatedAt   time.Time
}

// StatusList is one status list of an issuer for one purpose.
type StatusList struct {
	// ID is "{issuer}/{purpose}/{seq}"-like and URL-safe; assigned by the store.
	ID      string
	Issuer  string
	Purpose string
	// Seq numbers an issuer+purpose's lists from 1.
	Seq       int
	Size      int
	NextIndex int
	// Credential is the current signed status list credential (nil until
	// first signed), in Format, signed at SignedAt.
	Credential []byte
	Format     string
	SignedAt   time.Time
	// ChangedAt is when a bit last changed: re-sign when after SignedAt.
	ChangedAt time.Time
	CreatedAt time.Time
}

// StatusEntry is one allocated index of a status list.
type StatusEntry struct {
	ListID       string
	Purpose      string
	Index        int
	CredentialID string
	Value        bool
}

// CredentialStatus is the revocation / suspension state of a credential.
type CredentialStatus struct {
	CredentialID string
	Revoked      bool
	Suspended    bool
	Reason       string
	UpdatedAt    time.Time
}

// ShareLink maps an unguessable token to a learner's credential.
type ShareLink struct {
	TokenHash    string
	LearnerID    string
	CredentialID string
	CreatedAt    time.Time
	RevokedAt    *time.Time
}
