//! TLS towards the nodes (rustls): the client context from `[cassandra.tls]`, and a
//! check of whether a port speaks TLS, to explain a plain-text connection refused.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::CassandraError;
use crate::config::TlsConfig;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls client configuration, built by the config layer (which already
/// checked the files at start, naming their keys): the nodes' certificates are checked
/// against the CA of `ca_file` only; `cert_file`/`key_file` are presented for mutual
/// TLS. Errors name the file, never its contents.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, CassandraError> {
    crate::config::tls_client_config(tls).map_err(|e| CassandraError::Tls(e.to_string()))
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
