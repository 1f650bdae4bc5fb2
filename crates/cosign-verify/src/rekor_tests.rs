//! The entry-body readers on hand-made bodies: what a logged entry must carry to bind one
//! signature (the cases the scenario and conformance tests do not reach).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use super::{intoto_fields, pem_der, v1_fields, v2_fields};

const PEM: &str = "-----BEGIN PUBLIC KEY-----\nAQID\n-----END PUBLIC KEY-----\n";

fn signature(n: usize) -> Value {
    json!({"signature": format!("sig{n}"), "verifier": BASE64.encode(PEM)})
}

/// A Rekor v1 `dsse` 0.0.1 body with `signatures`.
fn dsse_v1(signatures: Vec<Value>) -> Value {
    json!({"spec": {
        "payloadHash": {"algorithm": "sha256", "value": "00ff"},
        "signatures": signatures,
    }})
}

#[test]
fn a_dsse_entry_binds_exactly_one_signature() {
    let one = v1_fields(&dsse_v1(vec![signature(0)]), "dsse").expect("one signature");
    assert_eq!(one.signature, "sig0");
    assert_eq!(one.verifier_der, [1, 2, 3]);
    assert_eq!(one.hash, [0, 255]);
    // Two signatures: the entry does not say which one it logged for this layer.
    let two = v1_fields(&dsse_v1(vec![signature(0), signature(1)]), "dsse").err();
    assert_eq!(
        two.as_deref(),
        Some("Rekor dsse entry has 2 signatures; expected exactly 1")
    );
    let none = v1_fields(&dsse_v1(Vec::new()), "dsse").err();
    assert_eq!(
        none.as_deref(),
        Some("Rekor dsse entry has 0 signatures; expected exactly 1")
    );
    let v2 = json!({"spec": {"dsseV002": {"signatures": [{}, {}]}}});
    assert!(v2_fields(&v2, "dsse").is_err_and(|e| e.contains("2 signatures")));
    let intoto = json!({"spec": {"content": {"envelope": {"signatures": [{}, {}]}}}});
    assert!(intoto_fields(&intoto).is_err_and(|e| e.contains("2 signatures")));
}

#[test]
fn a_verifier_must_be_one_whole_pem_block() {
    assert_eq!(pem_der(PEM.as_bytes()).as_deref(), Ok(&[1u8, 2, 3][..]));
    // Cut off after its header, or missing the header: not PEM.
    for cut in [
        "-----BEGIN PUBLIC KEY-----\nAQID\n",
        "AQID\n-----END PUBLIC KEY-----\n",
        "AQID",
    ] {
        assert_eq!(
            pem_der(cut.as_bytes()).err().as_deref(),
            Some("Rekor entry verifier is not PEM"),
            "{cut:?}"
        );
    }
    assert!(pem_der(&[0xff, 0xfe]).is_err());
}
