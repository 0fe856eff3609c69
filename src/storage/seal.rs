//! The on-device lock's cryptography: the data key that seals every value
//! holding personal data, and the two keys that wrap it.
//!
//! # Keys
//! - The **data key**: 32 random bytes (`crypto.getRandomValues`), made when
//!   the lock is turned on. Every sealed value is AES-256-GCM under it, with
//!   a fresh random 96-bit nonce: `nonce ‖ ciphertext ‖ tag`. It lives only
//!   in wasm memory while the phone is unlocked ([`DataKey`]; its bytes and
//!   the AES key schedule are zeroized when it is dropped, at lock).
//! - The **PIN key**: PBKDF2-HMAC-SHA256 of the PIN or password with a
//!   random 16-byte salt and [`KDF_ITERATIONS`] (600,000, OWASP's 2023 figure
//!   for PBKDF2-SHA256) iterations, 32 bytes. WebCrypto's `deriveBits` where
//!   the page is a secure context (HTTPS, localhost), the `pbkdf2` crate
//!   (the same function, the same bytes) on a plain-HTTP page. Why not
//!   Argon2id: it is not in WebCrypto, so it would run in wasm on the main
//!   thread of a cheap phone, where a memory-hard setting strong enough to
//!   matter takes many seconds; PBKDF2 in WebCrypto runs natively.
//! - The **recovery secret**: 32 random bytes the server makes and keeps per
//!   (user, device) (`POST /api/v1/device-key`, which wants the account
//!   password). The phone keeps the data key wrapped by the PIN key and by
//!   the recovery secret; it never keeps the secret, and the server never
//!   sees the data key.
//!
//! Wrapping is AES-256-GCM too, with [`WRAP_AAD`] as associated data.
//!
//! Why records are sealed in Rust and not with WebCrypto: IndexedDB commits
//! a transaction as soon as control returns to the event loop with no
//! request pending, so no WebCrypto promise can be awaited inside one.
//! RustCrypto's AES-GCM is synchronous, so a value is sealed or opened
//! between two requests of the same transaction.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use serde::{Deserialize, Serialize};
use wasm_bindgen::{JsCast, JsValue};
use zeroize::Zeroizing;

use super::StorageError;

/// PBKDF2-HMAC-SHA256 iterations for the PIN key.
pub const KDF_ITERATIONS: u32 = 600_000;
/// The KDF's name as kept in `meta["lock"]`.
pub const KDF_NAME: &str = "PBKDF2-HMAC-SHA256";
/// Bytes of the PIN key's salt.
pub const SALT_LEN: usize = 16;
/// Bytes of an AES-GCM nonce.
pub const NONCE_LEN: usize = 12;
/// Associated data of a wrapped data key: a wrap is never taken for a
/// sealed record or the reverse.
pub const WRAP_AAD: &[u8] = b"fieldbook data key v1";
/// Wrong PINs allowed before the wait starts.
pub const FREE_ATTEMPTS: u32 = 5;
/// The first wait after [`FREE_ATTEMPTS`] wrong PINs; each further wrong
/// PIN doubles it, up to [`MAX_WAIT_MS`].
pub const FIRST_WAIT_MS: f64 = 30_000.0;
/// The longest wait between two PIN attempts.
pub const MAX_WAIT_MS: f64 = 3_600_000.0;

/// Why a sealed value or a wrapped key did not open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFailed;

/// The data key, in wasm memory only while the phone is unlocked.
pub struct DataKey {
    bytes: Zeroizing<[u8; 32]>,
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(…)")
    }
}

impl DataKey {
    /// The key with these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        let bytes = Zeroizing::new(bytes);
        let cipher = Aes256Gcm::new((&*bytes).into());
        DataKey { bytes, cipher }
    }

    /// Seals `plaintext` under this key with `nonce` (never used twice):
    /// `nonce ‖ ciphertext ‖ tag`.
    pub fn seal(&self, nonce: [u8; NONCE_LEN], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // AES-GCM fails only past 64 GiB of plaintext.
            .unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`seal`](DataKey::seal) made; fails on another key, other
    /// associated data or a changed byte.
    pub fn open(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenFailed> {
        if sealed.len() < NONCE_LEN + 16 {
            return Err(OpenFailed);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| OpenFailed)
    }

    /// This key wrapped by `wrapping` (a PIN key or a recovery secret).
    pub fn wrap(&self, wrapping: &[u8; 32], nonce: [u8; NONCE_LEN]) -> Vec<u8> {
        DataKey::from_bytes(*wrapping).seal(nonce, &self.bytes[..], WRAP_AAD)
    }

    /// The data key inside `wrapped`, if `wrapping` is the key it was
    /// wrapped with.
    pub fn unwrap(wrapping: &[u8; 32], wrapped: &[u8]) -> Result<DataKey, OpenFailed> {
        let bytes = Zeroizing::new(DataKey::from_bytes(*wrapping).open(wrapped, WRAP_AAD)?);
        let array: [u8; 32] = bytes[..].try_into().map_err(|_| OpenFailed)?;
        Ok(DataKey::from_bytes(array))
    }
}

/// Whether the lock is being turned on, is on, or is being turned off, as
/// `meta["lock"]` records it. A bulk change of mode interrupted (the tab
/// closed) resumes after the next unlock: every chunk is one transaction
/// that reads and rewrites only values still in the old form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Values are being sealed; new writes are sealed.
    Sealing,
    /// Every value holding personal data is sealed.
    On,
    /// Values are being opened back to plaintext; new writes are plaintext.
    Unsealing,
}

/// `meta["lock"]`: how the data key is kept. Plaintext by necessity: it is
/// what unlocking starts from. Holds no personal data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockInfo {
    /// The database's mode.
    pub mode: LockMode,
    /// [`KDF_NAME`].
    pub kdf: String,
    /// The KDF's iterations.
    pub iterations: u32,
    /// The KDF's salt.
    pub salt: Vec<u8>,
    /// The data key wrapped by the PIN key.
    pub by_pin: Vec<u8>,
    /// The data key wrapped by the server's recovery secret; `None` when the
    /// lock was set without signing in (a forgotten PIN then loses the
    /// data on this phone; a sync brings back what the server has).
    pub by_recovery: Option<Vec<u8>>,
    /// The server that keeps the recovery secret.
    pub server: Option<String>,
    /// The account it belongs to.
    pub username: Option<String>,
}

/// What is wrong with a proposed PIN or password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinProblem {
    /// Too short: 6 digits or 8 characters at least.
    TooShort,
}

/// The PIN rule: at least 6 digits, or a password of at least 8
/// characters.
pub fn check_pin(pin: &str) -> Result<(), PinProblem> {
    let chars = pin.chars().count();
    let digits = !pin.is_empty() && pin.chars().all(|c| c.is_ascii_digit());
    if (digits && chars >= 6) || chars >= 8 {
        Ok(())
    } else {
        Err(PinProblem::TooShort)
    }
}

/// How long to wait after `failures` wrong PINs in a row: nothing for the
/// first [`FREE_ATTEMPTS`], then 30 s doubling up to an hour.
pub fn wait_after(failures: u32) -> f64 {
    if failures < FREE_ATTEMPTS {
        return 0.0;
    }
    let doublings = (failures - FREE_ATTEMPTS).min(16) as i32;
    (FIRST_WAIT_MS * 2f64.powi(doublings)).min(MAX_WAIT_MS)
}

/// Wrong PINs so far and when the next attempt may be made, kept in
/// `localStorage` per database so a reload does not reset it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempts {
    /// Wrong PINs in a row.
    pub failures: u32,
    /// No attempt before this time (ms since the epoch).
    pub not_before_ms: f64,
}

/// A 32-byte recovery secret from its hex text (as the server sends it).
pub fn secret_from_hex(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// `N` random bytes from `crypto.getRandomValues`.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], StorageError> {
    let crypto = web_sys::window()
        .ok_or_else(|| StorageError::Unavailable("no window".into()))?
        .crypto()?;
    let mut bytes = [0u8; N];
    crypto.get_random_values_with_u8_array(&mut bytes)?;
    Ok(bytes)
}

/// PBKDF2-HMAC-SHA256 of `secret`, 32 bytes, in Rust.
pub fn pbkdf2_in_wasm(secret: &str, salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(secret.as_bytes(), salt, iterations, &mut out[..]);
    out
}

/// The PIN key: PBKDF2-HMAC-SHA256 of `secret` through WebCrypto, or in
/// wasm where `crypto.subtle` is missing (a plain-HTTP page). Never called
/// inside a transaction.
pub async fn derive_pin_key(
    secret: &str,
    salt: &[u8],
    iterations: u32,
) -> Result<Zeroizing<[u8; 32]>, StorageError> {
    let window = web_sys::window().ok_or_else(|| StorageError::Unavailable("no window".into()))?;
    let crypto = window.crypto()?;
    let has_subtle = js_sys::Reflect::get(&crypto, &JsValue::from_str("subtle"))
        .map(|s| !s.is_undefined() && !s.is_null())
        .unwrap_or(false);
    if !has_subtle {
        return Ok(pbkdf2_in_wasm(secret, salt, iterations));
    }
    let subtle = crypto.subtle();
    let raw = js_sys::Uint8Array::from(secret.as_bytes());
    let usages = js_sys::Array::of1(&JsValue::from_str("deriveBits"));
    let base = wasm_bindgen_futures::JsFuture::from(
        subtle.import_key_with_str("raw", &raw, "PBKDF2", false, &usages)?,
    )
    .await?;
    let base: web_sys::CryptoKey = base.dyn_into()?;
    let params = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| js_sys::Reflect::set(&params, &JsValue::from_str(k), v);
    set("name", &JsValue::from_str("PBKDF2"))?;
    set("hash", &JsValue::from_str("SHA-256"))?;
    set("salt", &js_sys::Uint8Array::from(salt))?;
    set("iterations", &JsValue::from_f64(f64::from(iterations)))?;
    let bits =
        wasm_bindgen_futures::JsFuture::from(subtle.derive_bits_with_object(&params, &base, 256)?)
            .await?;
    let bits = js_sys::Uint8Array::new(&bits);
    let mut out = Zeroizing::new([0u8; 32]);
    if bits.length() != 32 {
        return Err(StorageError::other("deriveBits returned the wrong length"));
    }
    bits.copy_to(&mut out[..]);
    // The browser's copy of the key bytes is garbage collected; overwrite it.
    bits.fill(0, 0, 32);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_round_trip_and_a_wrong_key_fails() {
        let key = DataKey::from_bytes([7; 32]);
        let plain = "{\"name\":\"王芳\"}".as_bytes();
        let sealed = key.seal([1; 12], plain, b"");
        assert!(!sealed.windows(3).any(|w| w == "王".as_bytes()));
        assert_eq!(key.open(&sealed, b"").unwrap(), plain);
        assert_eq!(
            DataKey::from_bytes([8; 32]).open(&sealed, b""),
            Err(OpenFailed)
        );
        let mut changed = sealed.clone();
        changed[20] ^= 1;
        assert_eq!(key.open(&changed, b""), Err(OpenFailed));
    }

    #[test]
    fn a_wrapped_key_opens_only_with_its_wrapping_key() {
        let key = DataKey::from_bytes([3; 32]);
        let wrapped = key.wrap(&[9; 32], [2; 12]);
        let back = DataKey::unwrap(&[9; 32], &wrapped).unwrap();
        assert_eq!(*back.bytes, [3; 32]);
        assert!(DataKey::unwrap(&[10; 32], &wrapped).is_err());
        // A wrap is not a sealed record: the associated data differs.
        assert!(key.open(&wrapped, b"").is_err());
    }

    #[test]
    fn the_pin_rule() {
        assert!(check_pin("123456").is_ok());
        assert!(check_pin("12345").is_err());
        assert!(check_pin("abcdefg").is_err());
        assert!(check_pin("abcdefgh").is_ok());
        assert!(check_pin("").is_err());
    }

    #[test]
    fn the_wait_grows_after_five_wrong_pins() {
        assert_eq!(wait_after(4), 0.0);
        assert_eq!(wait_after(5), 30_000.0);
        assert_eq!(wait_after(6), 60_000.0);
        assert_eq!(wait_after(40), MAX_WAIT_MS);
    }

    #[test]
    fn pbkdf2_matches_the_rfc_7914_vector() {
        // RFC 7914 §11: PBKDF2-HMAC-SHA256("passwd", "salt", 1, 64), first 32 bytes.
        let out = pbkdf2_in_wasm("passwd", b"salt", 1);
        assert_eq!(out[..8], [0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f]);
    }

    #[test]
    fn secrets_read_from_hex() {
        let hex = "00ff".repeat(16);
        let secret = secret_from_hex(&hex).unwrap();
        assert_eq!(secret[0], 0);
        assert_eq!(secret[1], 255);
        assert!(secret_from_hex("abc").is_none());
    }
}
