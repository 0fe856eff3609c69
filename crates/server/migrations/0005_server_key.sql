-- The server key's check value (src/server_key.rs): an HMAC under the key,
-- which tells whether the key the server was started with is the one the
-- recovery secrets in device_keys were derived or sealed with. The key
-- itself is never stored in the database. One row, id 1.
CREATE TABLE server_key (
    id        BIGINT PRIMARY KEY,
    key_check TEXT NOT NULL
);
