-- The on-device lock's recovery secrets: one per (user, device), made by
-- the server on the first request and never changed. The phone keeps its
-- data key wrapped by this secret (and by its PIN), never the secret; the
-- server never sees the data key. 64 hex characters (32 random bytes).
CREATE TABLE device_keys (
    user_id    TEXT NOT NULL REFERENCES users (id),
    device_id  TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);
