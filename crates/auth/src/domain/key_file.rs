//! The signing key an operator provides as a file (`CROSSBAR_JWT_KEY_FILE`; on
//! Kubernetes the Secret `crossbar-jwt`): an unencrypted Ed25519 private key in
//! PKCS#8, as PEM (what `openssl genpkey -algorithm ed25519` writes) or DER.
//!
//! Its key id is derived from its public key ([`kid_for`]), so every replica that
//! reads the same file names the key alike, and a start can tell whether the key is
//! already stored. Nothing here reports key material: errors describe the file's
//! shape, never its bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use crossbar_authz::SigningKey;
use ring::digest;
use ring::signature::{Ed25519KeyPair, KeyPair};

/// Length of a derived key id, hex digits (128 bits of the public key's SHA-256).
pub const KID_HEX_LEN: usize = 32;

/// The PEM label of an unencrypted PKCS#8 private key.
const PKCS8_LABEL: &str = "PRIVATE KEY";

/// The key id of a key given as a file: the first [`KID_HEX_LEN`] hex digits of the
/// SHA-256 of its raw (32-byte) public key. Reproducible with openssl:
/// `openssl pkey -in KEY.pem -pubout -outform DER | tail -c 32 | sha256sum | cut -c1-32`.
pub fn kid_for(public_key: &[u8]) -> String {
    let digest = digest::digest(&digest::SHA256, public_key);
    hex::encode(&digest.as_ref()[..KID_HEX_LEN / 2])
}

/// The signing key in a key file's contents (PKCS#8 PEM or DER), with the key id
/// [`kid_for`] its public key.
pub fn parse(contents: &[u8]) -> Result<SigningKey, String> {
    let der = pkcs8_der(contents)?;
    let seed = ed25519_seed(&der)?;
    let pair = Ed25519KeyPair::from_seed_unchecked(&seed)
        .map_err(|_| "the Ed25519 private key is invalid".to_string())?;
    let public = pair.public_key().as_ref();
    // Stored as PKCS#8 v2 (with the public key), the form ring generates and checks.
    SigningKey::from_pkcs8(&kid_for(public), pkcs8_v2(&seed, public))
}

/// The DER document: the file itself when it is DER (a SEQUENCE), else the base64
/// body of its `-----BEGIN PRIVATE KEY-----` block.
fn pkcs8_der(contents: &[u8]) -> Result<Vec<u8>, String> {
    if contents.first() == Some(&0x30) {
        return Ok(contents.to_vec());
    }
    if contents.iter().all(u8::is_ascii_whitespace) {
        return Err("the file is empty".into());
    }
    let text = std::str::from_utf8(contents)
        .map_err(|_| "neither a PEM file nor a DER PKCS#8 document".to_string())?;
    let mut lines = text.lines().map(str::trim);
    let label = lines
        .by_ref()
        .find_map(|line| {
            line.strip_prefix("-----BEGIN ")
                .and_then(|rest| rest.strip_suffix("-----"))
        })
        .ok_or("no PEM block (expected -----BEGIN PRIVATE KEY-----)")?;
    if label != PKCS8_LABEL {
        return Err(if label == "ENCRYPTED PRIVATE KEY" {
            "the private key is encrypted; provide it unencrypted \
             (openssl pkey -in ENCRYPTED.pem -out KEY.pem)"
                .to_string()
        } else {
            format!(
                "a PEM block '{}', expected an unencrypted PKCS#8 Ed25519 private key \
                 (-----BEGIN PRIVATE KEY-----, as `openssl genpkey -algorithm ed25519` writes)",
                printable_label(label)
            )
        });
    }
    let end = format!("-----END {PKCS8_LABEL}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        body.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    if !ended {
        return Err(format!("the PEM block has no '{end}' line"));
    }
    // No detail from the decoder: it would quote the offending characters.
    STANDARD
        .decode(body.as_bytes())
        .map_err(|_| "the PEM block is not valid base64".to_string())
}

/// A label as it may appear in an error: short, printable ASCII.
fn printable_label(label: &str) -> String {
    label
        .chars()
        .take(40)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The 32-byte private seed of an Ed25519 PKCS#8 document (v1 or v2); any other key
/// type, a malformed document, or a v2 public key that does not belong to the seed
/// is an error.
fn ed25519_seed(der: &[u8]) -> Result<Vec<u8>, String> {
    // ring checks the whole structure and the algorithm (RSA, EC, X25519... are refused).
    let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|rejected| {
        format!("not an unencrypted Ed25519 private key in PKCS#8 ({rejected})")
    })?;
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING, ... };
    // for Ed25519 privateKey holds CurvePrivateKey ::= OCTET STRING (32 bytes).
    let malformed = || "malformed PKCS#8 document".to_string();
    let (info, _) = der_element(der, 0x30).ok_or_else(malformed)?;
    let (_version, rest) = der_element(info, 0x02).ok_or_else(malformed)?;
    let (_algorithm, rest) = der_element(rest, 0x30).ok_or_else(malformed)?;
    let (private_key, _) = der_element(rest, 0x04).ok_or_else(malformed)?;
    let (seed, trailing) = der_element(private_key, 0x04).ok_or_else(malformed)?;
    if seed.len() != 32 || !trailing.is_empty() {
        return Err(malformed());
    }
    let derived = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| malformed())?;
    if derived.public_key().as_ref() != pair.public_key().as_ref() {
        return Err("the document's public key does not belong to its private key".into());
    }
    Ok(seed.to_vec())
}

/// One DER element of tag `tag` at the start of `input`: `(contents, rest)`.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = match first {
        0..=0x7f => (usize::from(first), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (usize::from(len), rest)
        }
        0x82 => {
            let (len, rest) = rest.split_at_checked(2)?;
            (usize::from(u16::from_be_bytes([len[0], len[1]])), rest)
        }
        _ => return None,
    };
    rest.split_at_checked(len)
}

/// The PKCS#8 v2 document (RFC 5958, with the public key) of an Ed25519 key, laid out
/// as ring's `Ed25519KeyPair::generate_pkcs8` writes it.
fn pkcs8_v2(seed: &[u8], public: &[u8]) -> Vec<u8> {
    const PREFIX: [u8; 16] = [
        0x30, 0x51, // SEQUENCE, 81 bytes
        0x02, 0x01, 0x01, // version 1 (v2)
        0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, // AlgorithmIdentifier id-Ed25519
        0x04, 0x22, 0x04, 0x20, // privateKey: OCTET STRING { OCTET STRING, 32 bytes }
    ];
    const PUBLIC: [u8; 3] = [0x81, 0x21, 0x00]; // publicKey [1] IMPLICIT BIT STRING, 32 bytes
    let mut der = Vec::with_capacity(PREFIX.len() + 32 + PUBLIC.len() + 32);
    der.extend_from_slice(&PREFIX);
    der.extend_from_slice(seed);
    der.extend_from_slice(&PUBLIC);
    der.extend_from_slice(public);
    der
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};

    /// A PKCS#8 v1 document (no public key), as `openssl genpkey -algorithm ed25519`
    /// writes it.
    fn pkcs8_v1(seed: &[u8; 32]) -> Vec<u8> {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(seed);
        der
    }

    /// PEM as openssl writes it: 64 characters a line.
    fn pem(label: &str, der: &[u8]) -> Vec<u8> {
        let body = STANDARD.encode(der);
        let mut text = format!("-----BEGIN {label}-----\n");
        for chunk in body.as_bytes().chunks(64) {
            text.push_str(std::str::from_utf8(chunk).unwrap());
            text.push('\n');
        }
        text.push_str(&format!("-----END {label}-----\n"));
        text.into_bytes()
    }

    /// Why `contents` is refused (keys have no `Debug`, on purpose).
    fn refusal(contents: &[u8]) -> String {
        match parse(contents) {
            Ok(key) => panic!("accepted as {}", key.kid),
            Err(error) => error,
        }
    }

    fn ring_pkcs8() -> Vec<u8> {
        Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .unwrap()
            .as_ref()
            .to_vec()
    }

    #[test]
    fn an_openssl_style_pem_key_parses_and_signs() {
        let seed = [7u8; 32];
        let key = parse(&pem("PRIVATE KEY", &pkcs8_v1(&seed))).unwrap();
        let expected = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        assert_eq!(key.public_key(), expected.public_key().as_ref());
        assert_eq!(key.kid, kid_for(key.public_key()));
        assert_eq!(key.kid.len(), KID_HEX_LEN);
        assert!(key.kid.chars().all(|c| c.is_ascii_hexdigit()));
        // what is stored is a document ring itself accepts and checks
        assert!(Ed25519KeyPair::from_pkcs8(key.pkcs8()).is_ok());
        let signer = crossbar_authz::TokenSigner::new(key.clone(), 60);
        let verifier = crossbar_authz::TokenVerifier::new();
        verifier.add_key(&key.kid, key.public_key());
        let (token, _) = signer.issue("a", None, "cb_api_auth", None).unwrap();
        assert!(verifier.verify(&token).is_ok());
    }

    #[test]
    fn v2_documents_der_and_crlf_pem_parse_to_the_same_key() {
        let v2 = ring_pkcs8();
        let from_der = parse(&v2).unwrap();
        assert_eq!(
            from_der.pkcs8(),
            v2.as_slice(),
            "rebuilt exactly as ring lays it out"
        );
        let crlf = String::from_utf8(pem("PRIVATE KEY", &v2))
            .unwrap()
            .replace('\n', "\r\n");
        let from_pem = parse(format!("\n{crlf}\n").as_bytes()).unwrap();
        assert_eq!(from_pem.kid, from_der.kid);
        assert_eq!(from_pem.pkcs8(), from_der.pkcs8());
    }

    #[test]
    fn the_kid_is_stable_and_differs_between_keys() {
        let seed = [42u8; 32];
        let first = parse(&pem("PRIVATE KEY", &pkcs8_v1(&seed))).unwrap();
        let again = parse(&pkcs8_v1(&seed)).unwrap();
        assert_eq!(first.kid, again.kid, "same key, same kid, PEM or DER");
        let other = parse(&pem("PRIVATE KEY", &pkcs8_v1(&[43u8; 32]))).unwrap();
        assert_ne!(first.kid, other.kid);
        // a fixed vector: the kid never changes across versions
        let public = [0u8; 32];
        assert_eq!(kid_for(&public), "66687aadf862bd776c8fc18b8e9f8e20");
    }

    #[test]
    fn garbage_is_refused() {
        for contents in [
            &b""[..],
            b"   \n",
            b"hello world",
            b"-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n",
            b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n",
            b"-----BEGIN PRIVATE KEY-----\naGVsbG8=\n-----END PRIVATE KEY-----\n",
            b"\x30\x03\x02\x01\x00",
            b"\xff\xfe\x00",
        ] {
            assert!(parse(contents).is_err(), "{contents:?}");
        }
        let mut truncated = pkcs8_v1(&[1; 32]);
        truncated.pop();
        assert!(parse(&truncated).is_err());
    }

    #[test]
    fn other_key_types_are_refused() {
        let ec =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let error = refusal(&pem("PRIVATE KEY", ec.as_ref()));
        assert!(
            error.contains("not an unencrypted Ed25519 private key"),
            "{error}"
        );
        assert!(parse(ec.as_ref()).is_err());
        // X25519 (a key-agreement key, OID 1.3.101.110) in the same shape
        let mut x25519 = pkcs8_v1(&[9; 32]);
        x25519[11] = 0x6e;
        assert!(parse(&pem("PRIVATE KEY", &x25519)).is_err());
        // other PEM blocks name what they are, not what they hold
        let error = refusal(&pem("EC PRIVATE KEY", &[1, 2, 3]));
        assert!(error.contains("'EC PRIVATE KEY'"), "{error}");
        let error = refusal(&pem("ENCRYPTED PRIVATE KEY", &[1, 2, 3]));
        assert!(error.contains("encrypted"), "{error}");
        assert!(parse(&pem("PUBLIC KEY", &[1, 2, 3])).is_err());
    }

    #[test]
    fn a_mismatched_public_key_is_refused() {
        let mut v2 = ring_pkcs8();
        let last = v2.len() - 1;
        v2[last] ^= 1;
        assert!(parse(&v2).is_err());
    }

    #[test]
    fn errors_never_quote_the_key() {
        let der = pkcs8_v1(&[5; 32]);
        let encoded = STANDARD.encode(&der);
        // a valid body with one character broken
        let broken = format!(
            "-----BEGIN PRIVATE KEY-----\n{}*\n-----END PRIVATE KEY-----\n",
            &encoded[..encoded.len() - 1]
        );
        let error = refusal(broken.as_bytes());
        assert!(!error.contains(&encoded[..8]), "{error}");
        assert!(!error.contains('*'), "{error}");
    }
}
