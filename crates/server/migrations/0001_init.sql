-- Fieldbook's server schema. The same SQL runs on SQLite and PostgreSQL:
-- TEXT, BIGINT and composite keys only; every id is a UUID in text; times
-- are milliseconds since the Unix epoch; flags are 0/1 BIGINTs.

-- Counters taken under a row lock by the transaction that bumps them: the
-- change log's cursor (so cursors commit in order and a pull never skips a
-- change committed late) and the server's own change numbers.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('cursor', 0);
INSERT INTO counters (name, value) VALUES ('server_seq', 0);

-- Small facts about this server: its device id (for the changes it makes
-- itself: villages created by an admin, conflicts settled by an officer).
CREATE TABLE server_meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE villages (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    township     TEXT NOT NULL,
    created_ms   BIGINT NOT NULL,
    last_sync_ms BIGINT
);

-- role: worker | officer | admin. An officer sees the villages of
-- `township`; a worker those in user_villages.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    township      TEXT,
    disabled      BIGINT NOT NULL DEFAULT 0,
    created_ms    BIGINT NOT NULL
);

CREATE TABLE user_villages (
    user_id    TEXT NOT NULL REFERENCES users (id),
    village_id TEXT NOT NULL REFERENCES villages (id),
    PRIMARY KEY (user_id, village_id)
);

-- A session token is kept only as its SHA-256 hash.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_user ON sessions (user_id);

-- The change log: every accepted change once, by (device, seq); `body` is
-- the core's `Change` as JSON (its stamp as the server took it in).
CREATE TABLE changes (
    cursor      BIGINT PRIMARY KEY,
    device      TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    village_id  TEXT NOT NULL REFERENCES villages (id),
    record_kind TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    body        TEXT NOT NULL,
    clamped     BIGINT NOT NULL,
    received_ms BIGINT NOT NULL,
    user_id     TEXT,
    UNIQUE (device, seq)
);
CREATE INDEX changes_village_cursor ON changes (village_id, cursor);

-- Every record's merge state (the core's `RecordState` as JSON), the record
-- built from its winning values, and how many open conflicts it has.
CREATE TABLE records (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    village_id TEXT NOT NULL REFERENCES villages (id),
    state      TEXT NOT NULL,
    body       TEXT NOT NULL,
    conflicts  BIGINT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_village ON records (village_id, kind);
