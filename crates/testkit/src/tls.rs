//! A test certificate authority and a loopback server certificate, made with `rcgen`.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

/// A test CA (written as PEM) and a CA:FALSE server certificate for `IP:127.0.0.1`.
///
/// rustls/webpki rejects a self-signed CA certificate used directly as the server certificate,
/// hence the two certificates.
pub struct TestCa {
    /// The CA certificate, PEM.
    pub ca_pem: String,
    /// The server certificate, PEM (SAN `IP:127.0.0.1` and `DNS:localhost`).
    pub server_cert_pem: String,
    /// The server's private key, PEM.
    pub server_key_pem: String,
    dir: tempfile::TempDir,
}

impl TestCa {
    /// Generates a fresh CA and server certificate and writes them into a temporary directory.
    pub fn generate() -> Self {
        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "tagcli test CA");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca_params, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
        params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = params
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let dir = tempfile::tempdir().expect("temp dir for certificates");
        let ca = Self {
            ca_pem: ca_cert.pem(),
            server_cert_pem: server_cert.pem(),
            server_key_pem: server_key.serialize_pem(),
            dir,
        };
        std::fs::write(ca.ca_path(), &ca.ca_pem).expect("write CA");
        std::fs::write(ca.server_cert_path(), &ca.server_cert_pem).expect("write server cert");
        std::fs::write(ca.server_key_path(), &ca.server_key_pem).expect("write server key");
        ca
    }

    /// Returns the path of the CA certificate PEM file (the bundle a client trusts).
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Returns the path of the server certificate PEM file.
    pub fn server_cert_path(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    /// Returns the path of the server key PEM file.
    pub fn server_key_path(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// Returns the directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}
