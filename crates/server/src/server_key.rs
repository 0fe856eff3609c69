//! The server key: what keeps the on-device lock's recovery secrets out of a
//! copy of the database.
//!
//! The key is 32 random bytes kept outside the database: the file
//! `server.key` in the data folder (`--data-dir`, also when the database is
//! PostgreSQL), made with mode 0600 on the first start, or the environment
//! variable `FIELDBOOK_SERVER_KEY` (64 hex digits), which then wins and no
//! file is made.
//!
//! - A new recovery secret is not stored at all: it is
//!   HMAC-SHA-256(user id, device id) under a key derived from the server
//!   key, and `device_keys.secret` holds only the marker [`DERIVED`].
//! - A secret made before the key existed (random, stored in plaintext) has
//!   already wrapped a phone's data key, so it must not change: at start it
//!   is sealed (AES-256-GCM under a key derived from the server key, a
//!   random nonce, the user and device ids as associated data) and stored
//!   as `sealed:v1:<base64url(nonce ‖ ciphertext)>`.
//! - The database keeps a check value of the key (an HMAC, which does not
//!   reveal it). A database whose secrets were derived or sealed under a key
//!   is refused at start when the key is missing or different: the server
//!   would otherwise hand out other secrets, and phones would fail to
//!   recover with them.
//!
//! A lost key means the recovery secrets are gone: phones still unlock with
//! their PIN, but a forgotten PIN can no longer be recovered by signing in.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, Result, bail};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::Row;

use crate::Db;
use crate::db::Backend;

/// The key file's name in the data folder.
pub const KEY_FILE: &str = "server.key";
/// The environment variable that gives the key instead of the file.
pub const KEY_ENV: &str = "FIELDBOOK_SERVER_KEY";
/// `device_keys.secret` of a secret derived from the server key.
pub const DERIVED: &str = "derived:v1";
/// The prefix of a sealed secret.
pub const SEALED: &str = "sealed:v1:";

type HmacSha256 = Hmac<Sha256>;

/// The server key.
pub struct ServerKey {
    key: [u8; 32],
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

impl ServerKey {
    /// A new random key.
    pub fn generate() -> ServerKey {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        ServerKey { key }
    }

    /// A random key that lives only in memory: the router's default, for
    /// tests. The binary always loads a kept one with [`open`].
    pub fn ephemeral() -> ServerKey {
        ServerKey::generate()
    }

    /// A key written as 64 hex digits (surrounding white space ignored).
    pub fn from_hex(text: &str) -> Result<ServerKey> {
        let text = text.trim();
        if text.len() != 64 || !text.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!("a server key is 64 hex digits (32 bytes)");
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)?;
        }
        Ok(ServerKey { key })
    }

    /// The key as 64 hex digits, as the key file holds it.
    pub fn to_hex(&self) -> String {
        hex(&self.key)
    }

    /// A key for one purpose, derived from the server key.
    fn subkey(&self, purpose: &str) -> [u8; 32] {
        let mut mac =
            <HmacSha256 as Mac>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// What the database keeps to recognise the key: an HMAC under it.
    pub fn check_value(&self) -> String {
        hex(&self.subkey("fieldbook server key check v1"))
    }

    /// The recovery secret of `user`'s `device`: 64 hex digits, like the
    /// random ones made before the key existed.
    pub fn derive_secret(&self, user: &str, device: &str) -> String {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.subkey("fieldbook device key v1"))
            .expect("HMAC takes any key length");
        mac.update(user.as_bytes());
        mac.update(&[0]);
        mac.update(device.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.subkey("fieldbook seal v1")).expect("a 32-byte key")
    }

    /// `secret` sealed for the row of `user` and `device`.
    pub fn seal(&self, user: &str, device: &str, secret: &str) -> String {
        let mut nonce = [0u8; 12];
        OsRng.fill_bytes(&mut nonce);
        let aad = associated_data(user, device);
        let sealed = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad,
                },
            )
            .expect("AES-GCM seals any short message");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!(
            "{SEALED}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        )
    }

    /// The recovery secret a `device_keys` row stands for: derived, sealed
    /// or (a row not yet sealed) as stored.
    pub fn reveal(&self, user: &str, device: &str, stored: &str) -> Result<String> {
        if stored == DERIVED {
            return Ok(self.derive_secret(user, device));
        }
        let Some(sealed) = stored.strip_prefix(SEALED) else {
            if is_protected(stored) {
                bail!("a recovery secret in an unknown format");
            }
            return Ok(stored.to_string());
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .context("a sealed recovery secret that is not base64")?;
        if bytes.len() < 12 {
            bail!("a sealed recovery secret too short");
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let aad = associated_data(user, device);
        let plain = self
            .cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("a sealed recovery secret that this key cannot open"))?;
        String::from_utf8(plain).context("a sealed recovery secret that is not text")
    }
}

fn associated_data(user: &str, device: &str) -> Vec<u8> {
    let mut aad = b"fieldbook device key\0".to_vec();
    aad.extend_from_slice(user.as_bytes());
    aad.push(0);
    aad.extend_from_slice(device.as_bytes());
    aad
}

/// Whether a stored secret is derived or sealed, i.e. needs the key.
fn is_protected(stored: &str) -> bool {
    stored.starts_with("derived:") || stored.starts_with("sealed:")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The server key for `db`: from `from_env` (the value of
/// [`KEY_ENV`]) or the key file in `data_dir`, made there on the first
/// start. Refuses a missing or different key when the database holds
/// secrets that need it; seals every secret still stored in plaintext.
pub async fn open(db: &Db, data_dir: &Path, from_env: Option<&str>) -> Result<ServerKey> {
    let file = data_dir.join(KEY_FILE);
    let (given, source) = match from_env {
        Some(text) => (
            Some(ServerKey::from_hex(text).context(KEY_ENV)?),
            format!("the environment variable {KEY_ENV}"),
        ),
        None => (read_key_file(&file)?, file.display().to_string()),
    };
    let check: Option<String> = sqlx::query("SELECT key_check FROM server_key WHERE id = 1")
        .fetch_optional(&db.pool)
        .await?
        .map(|row| row.get("key_check"));
    let protected: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM device_keys \
         WHERE secret LIKE 'derived:%' OR secret LIKE 'sealed:%'",
    )
    .fetch_one(&db.pool)
    .await?
    .get("n");
    let lost = "The lock's recovery secrets of this database were made with another server key. \
                Put that key back (the file server.key from the data folder's backup, or \
                FIELDBOOK_SERVER_KEY); without it they are gone: phones still unlock with \
                their PIN, but a forgotten PIN can no longer be recovered by signing in. \
                To start anyway and issue new secrets, an administrator must first delete \
                the rows of the table device_keys";
    let key = match (given, check) {
        (Some(key), Some(check)) if key.check_value() == check => key,
        (Some(_), Some(_)) if protected > 0 => {
            bail!(
                "the server key in {source} is not the one this database's {protected} recovery secret(s) need. {lost}."
            )
        }
        (None, Some(_)) if protected > 0 => {
            bail!(
                "the server key is missing ({source} does not exist and {KEY_ENV} is not set), and this database holds {protected} recovery secret(s) made with it. {lost}."
            )
        }
        (None, None) if protected > 0 => {
            bail!(
                "this database holds {protected} recovery secret(s) but no record of their server key. {lost}."
            )
        }
        (Some(key), None) if protected > 0 => {
            // No check value but secrets made under some key: accept the key
            // only if it opens them.
            let row = sqlx::query(
                "SELECT user_id, device_id, secret FROM device_keys \
                 WHERE secret LIKE 'sealed:%' LIMIT 1",
            )
            .fetch_optional(&db.pool)
            .await?;
            if let Some(row) = row
                && key
                    .reveal(row.get("user_id"), row.get("device_id"), row.get("secret"))
                    .is_err()
            {
                bail!(
                    "the server key in {source} does not open this database's recovery secrets. {lost}."
                );
            }
            key
        }
        (Some(key), _) => key,
        (None, _) => {
            let key = ServerKey::generate();
            write_key_file(&file, &key)?;
            tracing::info!(file = %file.display(), "made a new server key; back it up with the database");
            key
        }
    };
    let check = key.check_value();
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Sqlite {
        // The plaintext a sealed row replaces is overwritten, not left in
        // the page's free space.
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::query("DELETE FROM server_key WHERE id = 1")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO server_key (id, key_check) VALUES (1, $1)")
        .bind(&check)
        .execute(&mut *tx)
        .await?;
    let plain = sqlx::query(
        "SELECT user_id, device_id, secret FROM device_keys \
         WHERE secret NOT LIKE 'derived:%' AND secret NOT LIKE 'sealed:%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &plain {
        let (user, device, secret): (String, String, String) =
            (row.get("user_id"), row.get("device_id"), row.get("secret"));
        sqlx::query("UPDATE device_keys SET secret = $1 WHERE user_id = $2 AND device_id = $3")
            .bind(key.seal(&user, &device, &secret))
            .bind(&user)
            .bind(&device)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    if !plain.is_empty() {
        // …and out of SQLite's write-ahead log and PostgreSQL's dead rows.
        let cleanup = match db.backend {
            Backend::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
            Backend::Postgres => "VACUUM device_keys",
        };
        sqlx::query(cleanup).execute(&db.pool).await?;
        tracing::info!(
            count = plain.len(),
            "sealed the recovery secrets stored in plaintext"
        );
    }
    Ok(key)
}

fn read_key_file(file: &Path) -> Result<Option<ServerKey>> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            restrict(file, 0o600)?;
            Ok(Some(ServerKey::from_hex(&text).with_context(|| {
                format!("the key file {} is damaged", file.display())
            })?))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot read {}", file.display())),
    }
}

fn write_key_file(file: &Path, key: &ServerKey) -> Result<()> {
    use std::io::Write;
    if let Some(folder) = file.parent() {
        private_folder(folder)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options
        .open(file)
        .with_context(|| format!("cannot make the key file {}", file.display()))?;
    out.write_all(format!("{}\n", key.to_hex()).as_bytes())?;
    out.sync_all()?;
    Ok(())
}

/// Makes `folder` (and its missing parents) readable by the server's user
/// only (0700). An existing folder is left as it is (it may be `.` or a
/// shared folder), with a warning when others may list it; the files in it
/// are private anyway.
pub fn private_folder(folder: &Path) -> Result<()> {
    if folder.is_dir() {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(folder)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    folder = %folder.display(),
                    "the data folder is open to other users (mode {mode:o}); `chmod 700` it"
                );
            }
        }
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(folder)
        .with_context(|| format!("cannot make the folder {}", folder.display()))
}

/// Makes the SQLite database `file` before SQLite does, with mode 0600,
/// and narrows an existing one and its `-wal` and `-shm` files to that.
/// SQLite gives the files it makes later the database file's mode.
pub fn private_sqlite_files(file: &Path) -> Result<()> {
    if !file.exists() {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(file)
            .with_context(|| format!("cannot make {}", file.display()))?;
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        let path = std::path::PathBuf::from(name);
        if path.exists() {
            restrict(&path, 0o600)?;
        }
    }
    Ok(())
}

/// Takes every permission beyond `mode` away from `path` (Unix).
fn restrict(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let current = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if current & !mode != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode))
                .with_context(|| {
                    format!("cannot restrict the permissions of {}", path.display())
                })?;
            tracing::info!(path = %path.display(), "narrowed permissions to {mode:o}");
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_secret_is_fixed_by_key_user_and_device() {
        let key = ServerKey::generate();
        let secret = key.derive_secret("u1", "d1");
        assert_eq!(secret.len(), 64);
        assert_eq!(key.reveal("u1", "d1", DERIVED).unwrap(), secret);
        assert_ne!(key.derive_secret("u1", "d2"), secret);
        assert_ne!(key.derive_secret("u2", "d1"), secret);
        // No ambiguity between ("u1", "d1x") and ("u1d", "1x").
        assert_ne!(
            key.derive_secret("u1", "d1x"),
            key.derive_secret("u1d", "1x")
        );
        assert_ne!(ServerKey::generate().derive_secret("u1", "d1"), secret);
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_in_its_row() {
        let key = ServerKey::generate();
        let secret = "ab".repeat(32);
        let sealed = key.seal("u1", "d1", &secret);
        assert!(sealed.starts_with(SEALED));
        assert!(!sealed.contains(&secret));
        assert_eq!(key.reveal("u1", "d1", &sealed).unwrap(), secret);
        assert!(key.reveal("u1", "d2", &sealed).is_err());
        assert!(ServerKey::generate().reveal("u1", "d1", &sealed).is_err());
        assert_eq!(key.reveal("u1", "d1", &secret).unwrap(), secret);
    }

    #[test]
    fn the_key_reads_back_from_its_hex() {
        let key = ServerKey::generate();
        let again = ServerKey::from_hex(&format!("{}\n", key.to_hex())).unwrap();
        assert_eq!(again.check_value(), key.check_value());
        assert!(ServerKey::from_hex("abc").is_err());
        assert!(ServerKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
