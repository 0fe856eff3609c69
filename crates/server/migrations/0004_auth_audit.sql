-- Sessions end after a time without use (not a fixed time after sign-in):
-- `last_used_ms` is when the server last noted a use (at most once an hour
-- per session, so that a request does not cost a write), and `expires_ms`
-- moves with it.
ALTER TABLE sessions ADD COLUMN last_used_ms BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_used_ms = created_ms;

-- After an administrator's `user reset-password` the user must choose her
-- own password before anything else (1 until she has).
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;

-- The audit log: security events, appended and never updated; entries
-- older than the configured age (default 400 days) are deleted. Ids only:
-- no names, no typed text, no record values. `id` is a time-ordered UUID
-- (v7), so that events of one millisecond keep their order.
CREATE TABLE audit_log (
    id       TEXT PRIMARY KEY,
    at_ms    BIGINT NOT NULL,
    event    TEXT NOT NULL,
    user_id  TEXT,
    address  TEXT,
    route    TEXT,
    status   BIGINT,
    detail   TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ms);
CREATE INDEX audit_log_user ON audit_log (user_id, at_ms);
