//! NIP-01 events: keys (hex or NIP-19 `nsec`), the canonical serialization
//! whose SHA-256 is the event id, and the BIP-340 signature over that id.

use bech32::{Bech32, Hrp};
use k256::schnorr::SigningKey;
use k256::schnorr::signature::hazmat::PrehashSigner;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Kind 1: a short text note.
pub const TEXT_NOTE: u16 = 1;

/// A signed event, serialized with the field names of NIP-01.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub pubkey: String,
    pub created_at: i64,
    pub kind: u16,
    pub tags: Vec<Vec<String>>,
    pub content: String,
    pub sig: String,
}

/// A Nostr identity. The secret never leaves this type in any printable form.
pub struct Keys {
    signing: SigningKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("public", &self.public_hex()).finish_non_exhaustive()
    }
}

impl Keys {
    /// Reads a private key given as 64 hex characters or as a NIP-19 `nsec1…`
    /// string. Errors never repeat the key.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = if raw.get(..5).is_some_and(|prefix| prefix.eq_ignore_ascii_case("nsec1")) {
            let (hrp, data) =
                bech32::decode(raw).map_err(|_| "the nsec private key is not valid bech32".to_string())?;
            if hrp.as_str() != "nsec" {
                return Err("the private key must be an nsec1… key".into());
            }
            data
        } else if raw.len() == 64 {
            hex::decode(raw).map_err(|_| "the private key must be 64 hex characters or an nsec1… key".to_string())?
        } else {
            return Err("the private key must be 64 hex characters or an nsec1… key".into());
        };
        if bytes.len() != 32 {
            return Err("the private key must be 32 bytes".into());
        }
        let signing = SigningKey::from_slice(&bytes)
            .map_err(|_| "the private key is not a valid secp256k1 secret key".to_string())?;
        Ok(Self { signing })
    }

    /// The secret as 64 lower-case hex characters (the stored form).
    pub fn secret_hex(&self) -> String {
        hex::encode(self.signing.to_bytes())
    }

    /// The BIP-340 x-only public key, hex: the account's identity on Nostr.
    pub fn public_hex(&self) -> String {
        hex::encode(self.signing.verifying_key().to_bytes())
    }

    /// The public key as NIP-19 `npub1…`, the form people share.
    pub fn npub(&self) -> String {
        to_bech32("npub", &self.signing.verifying_key().to_bytes())
    }

    /// Builds and signs an event. Signing is deterministic (BIP-340 with
    /// all-zero auxiliary randomness, which the BIP allows: the nonce still
    /// depends on the secret key and the message), so the same content,
    /// time and tags always give the same event, byte for byte — what lets
    /// a retry resend exactly what a relay may already have.
    ///
    /// Control characters NIP-01 has no short escape for are dropped from
    /// the content and the tags first (see [`without_unnamed_controls`]).
    pub fn sign(&self, created_at: i64, kind: u16, tags: Vec<Vec<String>>, content: String) -> Result<Event, String> {
        let tags: Vec<Vec<String>> =
            tags.iter().map(|tag| tag.iter().map(|value| without_unnamed_controls(value)).collect()).collect();
        let content = without_unnamed_controls(&content);
        let pubkey = self.public_hex();
        let id = event_id(&pubkey, created_at, kind, &tags, &content);
        let signature = self.signing.sign_prehash(&id).map_err(|_| "could not sign the event".to_string())?;
        Ok(Event {
            id: hex::encode(id),
            pubkey,
            created_at,
            kind,
            tags,
            content,
            sig: hex::encode(signature.to_bytes()),
        })
    }
}

/// NIP-01 names seven escapes (`\n`, `"`, `\\`, `\r`, `\t`, `\b`, `\f`) and
/// says "all other characters verbatim", yet JSON encoders (serde_json,
/// JavaScript's `JSON.stringify`) write the remaining C0 controls as
/// `\u00xx`. Relays differ on which reading they hash, so those characters
/// (U+0000–U+001F other than `\n`, `\r`, `\t`, `\b`, `\f`) are removed: what
/// is left has one serialization under either reading.
pub fn without_unnamed_controls(text: &str) -> String {
    let named = |c: char| matches!(c, '\n' | '\r' | '\t' | '\u{8}' | '\u{c}');
    text.chars().filter(|&c| c > '\u{1f}' || named(c)).collect()
}

/// `[0, pubkey, created_at, kind, tags, content]` as NIP-01 serializes it:
/// compact JSON, UTF-8, with `\n`, `"`, `\\`, `\r`, `\t`, `\b`, `\f` escaped
/// by their short forms and everything else verbatim. serde_json's compact
/// output is exactly that for text without other control characters, which
/// [`Keys::sign`] removes first.
pub fn canonical(pubkey: &str, created_at: i64, kind: u16, tags: &[Vec<String>], content: &str) -> String {
    json!([0, pubkey, created_at, kind, tags, content]).to_string()
}

/// SHA-256 of the canonical serialization.
pub fn event_id(pubkey: &str, created_at: i64, kind: u16, tags: &[Vec<String>], content: &str) -> [u8; 32] {
    Sha256::digest(canonical(pubkey, created_at, kind, tags, content).as_bytes()).into()
}

/// NIP-19 bech32 (not bech32m) of raw bytes, e.g. `npub`, `note`.
pub fn to_bech32(hrp: &str, data: &[u8]) -> String {
    // Both prefixes used here are valid HRPs and the data is 32 bytes, well
    // under bech32's length limit, so neither step can fail.
    Hrp::parse(hrp).ok().and_then(|hrp| bech32::encode::<Bech32>(hrp, data).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use k256::schnorr::signature::hazmat::PrehashVerifier;
    use k256::schnorr::{Signature, VerifyingKey};

    use super::*;

    fn verify(event: &Event) -> bool {
        let id = event_id(&event.pubkey, event.created_at, event.kind, &event.tags, &event.content);
        if hex::encode(id) != event.id {
            return false;
        }
        let key = VerifyingKey::from_slice(&hex::decode(&event.pubkey).unwrap()).unwrap();
        let signature = Signature::from_slice(&hex::decode(&event.sig).unwrap()).unwrap();
        key.verify_prehash(&id, &signature).is_ok()
    }

    #[test]
    fn bip340_vector_0_signs_deterministically() {
        // BIP-340 test vector 0: secret key 3, aux_rand and message all zero.
        let keys = Keys::parse(&format!("{:064x}", 3)).unwrap();
        assert_eq!(keys.public_hex(), "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");
        let signature = keys.signing.sign_prehash(&[0u8; 32]).unwrap();
        assert_eq!(
            hex::encode(signature.to_bytes()),
            "e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca821525f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0"
        );
    }

    #[test]
    fn bip340_vectors_1_to_3_verify() {
        // (public key, message, signature) of BIP-340 test vectors 1–3.
        let vectors = [
            (
                "dff1d77f2a671c5f36183726db2341be58feae1da2deced843240f7b502ba659",
                "243f6a8885a308d313198a2e03707344a4093822299f31d0082efa98ec4e6c89",
                "6896bd60eeae296db48a229ff71dfe071bde413e6d43f917dc8dcf8c78de33418906d11ac976abccb20b091292bff4ea897efcb639ea871cfa95f6de339e4b0a",
            ),
            (
                "dd308afec5777e13121fa72b9cc1b7cc0139715309b086c960e18fd969774eb8",
                "7e2d58d8b3bcdf1abadec7829054f90dda9805aab56c77333024b9d0a508b75c",
                "5831aaeed7b44bb74e5eab94ba9d4294c49bcf2a60728d8b4c200f50dd313c1bab745879a5ad954a72c45a91c3a51d3c7adea98d82f8481e0e1e03674a6f3fb7",
            ),
            (
                "25d1dff95105f5253c4022f628a996ad3a0d95fbf21d468a1b33f8c160d8f517",
                "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "7eb0509757e246f19449885651611cb965ecc1a187dd51b64fda1edc9637d5ec97582b9cb13db3933705b32ba982af5af25fd78881ebb32771fc5922efc66ea3",
            ),
        ];
        for (public, message, signature) in vectors {
            let key = VerifyingKey::from_slice(&hex::decode(public).unwrap()).unwrap();
            let signature = Signature::from_slice(&hex::decode(signature).unwrap()).unwrap();
            assert!(key.verify_prehash(&hex::decode(message).unwrap(), &signature).is_ok(), "{public}");
        }
    }

    fn tags(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter().map(|tag| tag.iter().map(|s| s.to_string()).collect()).collect()
    }

    #[test]
    fn ids_of_events_published_on_nostr_are_reproduced() {
        // Real events from public relays (kind 1 with an `r` tag; kind 1 with
        // `e`/`p` tags and newlines; kind 0 whose content is JSON full of quotes).
        let published = [
            Event {
                id: "1b71f57e1c3365f32b2a0abd8ded19f2a5e217a6eeaf3df11fa5c904bfb90dd6".into(),
                pubkey: "35d26e4690cbe1a898af61cc3515661eb5fa763b57bd0b42e45099c8b32fd50f".into(),
                created_at: 1681157953,
                kind: 1,
                tags: tags(&[&["r", "https://btcplusplus.dev/talks#nostr"]]),
                content: "I will be giving a talk on Nostr at the Bitcoin++ conference in Austin TX, end of this month, hoping to meet some other nostr people!  https://btcplusplus.dev/talks#nostr".into(),
                sig: "ec6e37c3d492654a4b8b5411b1872fc1dd7bbc3920d2c0818b177b42bd9429e206b878ad3b8fa0e72993b58182024d32a345ce487072de897bd0061d1c5e2189".into(),
            },
            Event {
                id: "126c4bc4a33b0b03cd947e164002066b70d97ce1c4b4f581c9f965c625069d41".into(),
                pubkey: "32e1827635450ebb3c5a7d12c1f8e7b2b514439ac10a67eef3d9fd9c5c68e245".into(),
                created_at: 1681657931,
                kind: 1,
                tags: tags(&[
                    &["e", "3de94ee418667f1567a79eb4c76ff788e39a4caf1947d5ec75fcda15d8920b0b"],
                    &["e", "2633adacdd31915719910b84c51b6a9b4bc8cdf165073bd8d5b2db8d36dc2fb3"],
                    &["p", "d7f0e3917c466f1e2233e9624fbd6d4bd1392dbcfcaf3574f457569d496cb731"],
                    &["p", "d7f0e3917c466f1e2233e9624fbd6d4bd1392dbcfcaf3574f457569d496cb731"],
                    &["p", "43c27728028a8b631118e73a46b363b464fee19002da657cc0196e8260188a7e"],
                ]),
                content: "It runs fast on my ryzen 1800x (nixos) on 16 threads:\n\nsystem_info: n_threads = 16 / 16 | AVX = 1 | AVX2 = 1 | AVX512 = 0 | FMA = 1 | NEON = 0 | ARM_FMA = 0 | F16C = 1 | FP16_VA = 0 | WASM_SIMD = 0 | BLAS = 0 | SSE3 = 1 | VSX = 0 \n\nmy m1 shows:\n\nsystem_info: n_threads = 4 / 8 | AVX = 0 | AVX2 = 0 | AVX512 = 0 | FMA = 0 | NEON = 1 | ARM_FMA = 1 | F16C = 0 | FP16_VA = 1 | WASM_SIMD = 0 | BLAS = 1 | SSE3 = 0 | VSX = 0 \n\nusing about 1.5GB of ram?  ".into(),
                sig: "b9465f00cbc8c36c9140ad9360597b7bd16c9007bfb924576101d062f3cbaf10851950460bd876941e89d42c85cdfb0166908a9ce33cbfa12419a4ab430df30a".into(),
            },
            Event {
                id: "b12e1d13848d47e28f912bb0a8b3d6b211d1af97f60e9e10b9cf5df9e5c731ed".into(),
                pubkey: "35d26e4690cbe1a898af61cc3515661eb5fa763b57bd0b42e45099c8b32fd50f".into(),
                created_at: 1677727939,
                kind: 0,
                tags: Vec::new(),
                content: r#"{"name":"scsibug","picture":"https://s.gravatar.com/avatar/1a425d744df94198d68dfffbf7ae51cf","about":"author of nostr-rs-relay, operates nostr-pub.wellorder.net","nip05":"scsibug@wellorder.net","lud06":"","lud16":"outsideice77@walletofsatoshi.com","username":"scsibug","display_name":"","displayName":"","banner":"","website":""}"#.into(),
                sig: "02f3e61059e99874cfd777f8cff44a2faa801429ab2cfd844adcc52e5c917ed886891d2cafab30fb4d38acfd20a399a2fd75e7472a4d13669735dc2cea84d6b6".into(),
            },
        ];
        for event in &published {
            assert!(verify(event), "{}", event.id);
        }
    }

    #[test]
    fn serialization_escapes_as_nip01_says() {
        let content = "line\nquote\" back\\ cr\r tab\t bs\u{8} ff\u{c} nul\u{0} esc\u{1b} del\u{7f} é 🎉 </script>";
        let text = canonical("ab", 7, 1, &[vec!["t".into(), "x".into()]], content);
        assert_eq!(
            text,
            "[0,\"ab\",7,1,[[\"t\",\"x\"]],\"line\\nquote\\\" back\\\\ cr\\r tab\\t bs\\b ff\\f nul\\u0000 esc\\u001b del\u{7f} é 🎉 </script>\"]"
        );
    }

    #[test]
    fn control_characters_without_a_short_escape_are_dropped_before_signing() {
        let keys = Keys::parse("7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a").unwrap();
        let content = "a\u{0}b\u{1b}c\u{1f}d\n\r\t\u{8}\u{c}\u{7f}é".to_string();
        let event = keys.sign(7, TEXT_NOTE, tags(&[&["t", "x\u{1}y"]]), content).unwrap();
        assert_eq!(event.content, "abcd\n\r\t\u{8}\u{c}\u{7f}é");
        assert_eq!(event.tags, tags(&[&["t", "xy"]]));
        let text = canonical(&event.pubkey, event.created_at, event.kind, &event.tags, &event.content);
        assert!(!text.contains("\\u00"), "no escape outside NIP-01's seven: {text}");
        assert!(verify(&event));
    }

    #[test]
    fn signed_events_verify_and_are_deterministic() {
        let keys = Keys::parse("7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a").unwrap();
        let event = keys.sign(1_700_000_000, TEXT_NOTE, tags(&[&["t", "herald"]]), "hello \"world\"\n".into()).unwrap();
        assert!(verify(&event));
        let again = keys.sign(1_700_000_000, TEXT_NOTE, tags(&[&["t", "herald"]]), "hello \"world\"\n".into()).unwrap();
        assert_eq!(event, again, "the same input signs to the same event");
        let mut tampered = event.clone();
        tampered.content.push('!');
        assert!(!verify(&tampered));
    }

    #[test]
    fn nsec_and_hex_keys_are_the_same_key() {
        // NIP-19's example pair.
        let hex_key = "67dea2ed018072d675f5415ecfaed7d2597555e202d85b3d65ea4e58d2d92ffa";
        let nsec = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5";
        let from_nsec = Keys::parse(nsec).unwrap();
        assert_eq!(from_nsec.secret_hex(), hex_key);
        assert_eq!(Keys::parse(hex_key).unwrap().public_hex(), from_nsec.public_hex());
        assert_eq!(
            to_bech32(
                "npub",
                &hex::decode("7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e").unwrap()
            ),
            "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
        );
        for bad in ["nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe6", "abc", &"zz".repeat(32)] {
            let error = Keys::parse(bad).unwrap_err();
            assert!(!error.contains(bad), "errors do not repeat the key");
        }
        assert!(Keys::parse(&"0".repeat(64)).is_err(), "zero is not a secret key");
        let npub_as_secret = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg";
        assert!(Keys::parse(npub_as_secret).is_err());
    }
}
