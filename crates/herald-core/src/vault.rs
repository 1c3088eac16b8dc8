//! Encryption at rest of platform credentials: AES-256-GCM with the
//! instance's `ENCRYPTION_KEY`, a fresh random nonce per value, and the
//! integration id as associated data, so a ciphertext copied onto another
//! integration's row does not decrypt.

use aes_gcm::aead::{Aead, Generate, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Format version, so the scheme can change without guessing.
const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VaultError {
    #[error("ENCRYPTION_KEY must be 64 hexadecimal characters")]
    BadKey,
    #[error("stored credentials cannot be decrypted: wrong ENCRYPTION_KEY, or the data was altered")]
    Undecryptable,
}

#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(**key redacted**)")
    }
}

impl Vault {
    pub fn from_hex(key_hex: &str) -> Result<Self, VaultError> {
        let bytes = hex::decode(key_hex.trim()).map_err(|_| VaultError::BadKey)?;
        if bytes.len() != 32 {
            return Err(VaultError::BadKey);
        }
        Ok(Self {
            cipher: Aes256Gcm::new(&Key::<Aes256Gcm>::try_from(bytes.as_slice()).map_err(|_| VaultError::BadKey)?),
        })
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag).
    pub fn encrypt(&self, plaintext: &[u8], context: &[u8]) -> String {
        let nonce = Nonce::generate();
        // Encryption with a valid key and in-memory buffers cannot fail.
        let sealed = self.cipher.encrypt(&nonce, Payload { msg: plaintext, aad: context }).unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    pub fn decrypt(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, VaultError> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(VaultError::Undecryptable)?;
        let bytes = STANDARD.decode(encoded).map_err(|_| VaultError::Undecryptable)?;
        if bytes.len() < NONCE_LEN {
            return Err(VaultError::Undecryptable);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| VaultError::Undecryptable)?;
        self.cipher.decrypt(&nonce, Payload { msg: ciphertext, aad: context }).map_err(|_| VaultError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn round_trips_and_never_repeats_a_ciphertext() {
        let vault = Vault::from_hex(KEY).unwrap();
        let a = vault.encrypt(b"secret token", b"integration-1");
        let b = vault.encrypt(b"secret token", b"integration-1");
        assert_ne!(a, b, "fresh nonce per value");
        assert!(!a.contains("secret"));
        assert_eq!(vault.decrypt(&a, b"integration-1").unwrap(), b"secret token");
    }

    #[test]
    fn refuses_wrong_key_context_or_tampering() {
        let vault = Vault::from_hex(KEY).unwrap();
        let sealed = vault.encrypt(b"secret", b"ctx");
        let other = Vault::from_hex(&"ff".repeat(32)).unwrap();
        assert_eq!(other.decrypt(&sealed, b"ctx"), Err(VaultError::Undecryptable));
        assert_eq!(vault.decrypt(&sealed, b"other ctx"), Err(VaultError::Undecryptable));
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(vault.decrypt(&tampered, b"ctx").is_err());
        assert!(vault.decrypt("plaintext", b"ctx").is_err());
        assert_eq!(Vault::from_hex("abc").unwrap_err(), VaultError::BadKey);
    }
}
