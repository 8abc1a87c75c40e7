-- Initial schema of clr-server (PostgreSQL).
-- Times are BIGINT microseconds since the Unix epoch (UTC), the same in both
-- dialects so that one set of queries serves SQLite and PostgreSQL.
-- Secrets (client secrets, codes, tokens, share links) are stored hashed.

CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    secret_hash   TEXT NOT NULL DEFAULT '',
    name          TEXT NOT NULL DEFAULT '',
    redirect_uris TEXT NOT NULL DEFAULT '[]',
    scopes        TEXT NOT NULL DEFAULT '[]',
    grant_types   TEXT NOT NULL DEFAULT '[]',
    metadata      TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash             TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    learner_id            TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL DEFAULT '[]',
    code_challenge        TEXT NOT NULL DEFAULT '',
    code_challenge_method TEXT NOT NULL DEFAULT '',
    grant_id              TEXT NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT
);
CREATE INDEX oauth_codes_expires ON oauth_codes (expires_at);

CREATE TABLE oauth_tokens (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL DEFAULT '[]',
    grant_id   TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oauth_tokens_grant ON oauth_tokens (grant_id);
CREATE INDEX oauth_tokens_expires ON oauth_tokens (expires_at);

CREATE TABLE sessions (
    hash       TEXT PRIMARY KEY,
    learner_id TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE learners (
    id         TEXT PRIMARY KEY,
    profile    TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE credentials (
    learner_id TEXT NOT NULL,
    id         TEXT NOT NULL,
    issuer     TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL DEFAULT '',
    format     TEXT NOT NULL,
    data       BYTEA NOT NULL,
    source     TEXT NOT NULL,
    version    BIGINT NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (learner_id, id)
);
-- GET credentials pages one learner's credentials by (updated_at, id).
CREATE INDEX credentials_learner_updated ON credentials (learner_id, updated_at, id);
CREATE INDEX credentials_id ON credentials (id);

CREATE TABLE learning_records (
    id             TEXT PRIMARY KEY,
    learner_id     TEXT NOT NULL,
    issuer         TEXT NOT NULL DEFAULT '',
    kind           TEXT NOT NULL,
    data           TEXT NOT NULL,
    credential_ids TEXT NOT NULL DEFAULT '[]',
    created_at     BIGINT NOT NULL
);
CREATE INDEX learning_records_learner ON learning_records (learner_id, created_at);

CREATE TABLE idempotency_keys (
    client_id    TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL DEFAULT '',
    status_code  INTEGER NOT NULL,
    response     BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (client_id, key)
);

CREATE TABLE status_lists (
    id         TEXT PRIMARY KEY,
    issuer     TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    size       INTEGER NOT NULL,
    next_index INTEGER NOT NULL,
    credential BYTEA,
    format     TEXT NOT NULL DEFAULT '',
    signed_at  BIGINT NOT NULL DEFAULT 0,
    changed_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (issuer, purpose, seq),
    CHECK (next_index <= size)
);

-- The primary key is what guarantees that two replicas never hand out the
-- same index of a list.
CREATE TABLE status_entries (
    list_id       TEXT NOT NULL REFERENCES status_lists (id),
    idx           INTEGER NOT NULL,
    credential_id TEXT NOT NULL,
    value         BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (list_id, idx)
);
CREATE INDEX status_entries_credential ON status_entries (credential_id);

CREATE TABLE credential_status (
    credential_id TEXT PRIMARY KEY,
    revoked       BOOLEAN NOT NULL DEFAULT FALSE,
    suspended     BOOLEAN NOT NULL DEFAULT FALSE,
    reason        TEXT NOT NULL DEFAULT '',
    updated_at    BIGINT NOT NULL
);

CREATE TABLE share_links (
    token_hash    TEXT PRIMARY KEY,
    learner_id    TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    revoked_at    BIGINT
);
CREATE INDEX share_links_credential ON share_links (learner_id, credential_id);
