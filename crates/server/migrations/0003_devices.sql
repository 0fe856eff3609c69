-- Devices belong to users. A phone's device id is bound to the user who
-- first pushes with it (or asks for its lock's recovery secret); the
-- server's own device id is kind 'server' and has no user. A push under a
-- device of another user, of the server, or a revoked one is refused.
CREATE TABLE devices (
    device_id     TEXT PRIMARY KEY,
    user_id       TEXT REFERENCES users (id),
    kind          TEXT NOT NULL,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms  BIGINT NOT NULL,
    revoked       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX devices_user ON devices (user_id);

-- A server whose own device id a phone has already pushed under (before
-- this check existed) takes a new one: its next change would collide with
-- the phone's numbers. `admin::server_device` makes it on first use.
DELETE FROM server_meta
WHERE name = 'device'
  AND value IN (SELECT device FROM changes WHERE user_id IS NOT NULL);

INSERT INTO devices (device_id, user_id, kind, first_seen_ms, last_seen_ms, revoked)
SELECT value, NULL, 'server', 0, 0, 0 FROM server_meta WHERE name = 'device';

-- Devices already in the change log: bound to the user of their first
-- change.
INSERT INTO devices (device_id, user_id, kind, first_seen_ms, last_seen_ms, revoked)
SELECT c.device, c.user_id, 'phone', c.received_ms,
       (SELECT MAX(m.received_ms) FROM changes m WHERE m.device = c.device), 0
FROM changes c
WHERE c.user_id IS NOT NULL
  AND c.cursor = (SELECT MIN(f.cursor) FROM changes f
                  WHERE f.device = c.device AND f.user_id IS NOT NULL)
  AND c.device NOT IN (SELECT device_id FROM devices);
