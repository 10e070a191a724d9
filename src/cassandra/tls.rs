//! TLS towards the nodes (rustls): the client context from `[cassandra.tls]`, and a
//! check of whether a port speaks TLS, to explain a plain-text connection refused.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::CassandraError;
use crate::config::TlsConfig;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration: the nodes' certificates are checked against the CA
/// of `ca_file` only; `cert_file`/`key_file` are presented for mutual TLS. Errors name
/// the file, never its contents.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, CassandraError> {
    let err = |what: &str, path: &str, e: &dyn std::fmt::Display| {
        CassandraError::Tls(format!("{what} {path}: {e}"))
    };
    if tls.ca_file.is_empty() {
        return Err(CassandraError::Tls(
            "cassandra.tls.ca_file is required when tls is enabled".into(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&tls.ca_file)
        .map_err(|e| err("cannot read cassandra.tls.ca_file", &tls.ca_file, &e))?
    {
        let cert = cert.map_err(|e| err("bad certificate in", &tls.ca_file, &e))?;
        roots
            .add(cert)
            .map_err(|e| err("unusable certificate in", &tls.ca_file, &e))?;
    }
    if roots.is_empty() {
        return Err(CassandraError::Tls(format!(
            "no certificate in cassandra.tls.ca_file {}",
            tls.ca_file
        )));
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| CassandraError::Tls(e.to_string()))?
        .with_root_certificates(roots);
    let config = if tls.cert_file.is_empty() {
        builder.with_no_client_auth()
    } else {
        let certs = CertificateDer::pem_file_iter(&tls.cert_file)
            .map_err(|e| err("cannot read cassandra.tls.cert_file", &tls.cert_file, &e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err("bad certificate in", &tls.cert_file, &e))?;
        // The key's parse error could quote key material: only the path is named.
        let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|_| {
            CassandraError::Tls(format!(
                "cannot read a PEM private key from cassandra.tls.key_file {}",
                tls.key_file
            ))
        })?;
        builder.with_client_auth_cert(certs, key).map_err(|e| {
            err(
                "the client certificate does not go with cassandra.tls.key_file",
                &tls.key_file,
                &e,
            )
        })?
    };
    Ok(Arc::new(config))
}

/// Whether `point` answers a TLS ClientHello with a TLS handshake record. Nothing is
/// verified or completed: the first bytes of the answer are enough to tell.
pub async fn speaks_tls(point: &str, timeout: Duration) -> bool {
    let attempt = async {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .ok()?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        let name = ServerName::try_from("ssa-tls-check.invalid").ok()?;
        let mut hello = Vec::new();
        rustls::ClientConnection::new(Arc::new(config), name)
            .ok()?
            .write_tls(&mut hello)
            .ok()?;
        let mut stream = tokio::net::TcpStream::connect(point).await.ok()?;
        stream.write_all(&hello).await.ok()?;
        let mut head = [0u8; 2];
        stream.read_exact(&mut head).await.ok()?;
        // A handshake record (22) of TLS 1.x (3).
        Some(head == [22, 3])
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}
