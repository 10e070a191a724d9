//! `[cassandra.tls]`: the rustls client configuration built from the PEM files.
//! It is built once at validation, so a missing or unreadable CA, certificate or
//! key is refused at start naming its key, not found later while connecting.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::{Config, ConfigError, TlsConfig};

fn certificates(key: &str, path: &str) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    check_file(key, path)?;
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {path}: {e}")))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ConfigError::invalid(key, format!("{path} is not PEM: {e}")))?;
    if certs.is_empty() {
        return Err(ConfigError::invalid(
            key,
            format!("{path} holds no PEM certificate"),
        ));
    }
    Ok(certs)
}

/// Refuses what is not a readable regular file, before a PEM parser sees it.
fn check_file(key: &str, path: &str) -> Result<(), ConfigError> {
    let meta = std::fs::metadata(Path::new(path))
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {path}: {e}")))?;
    if !meta.is_file() {
        return Err(ConfigError::invalid(
            key,
            format!("{path} is not a regular file"),
        ));
    }
    std::fs::File::open(path)
        .map_err(|e| ConfigError::invalid(key, format!("cannot read {path}: {e}")))?;
    Ok(())
}

/// Builds the TLS client configuration; every error names its key.
pub fn client_config(tls: &TlsConfig) -> Result<Arc<rustls::ClientConfig>, ConfigError> {
    if tls.ca_file.trim().is_empty() {
        return Err(ConfigError::invalid(
            "cassandra.tls.ca_file",
            "required when cassandra.tls.enabled = true (the PEM file of the CA that signed the nodes' certificates)",
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certificates("cassandra.tls.ca_file", &tls.ca_file)? {
        roots.add(cert).map_err(|e| {
            ConfigError::invalid(
                "cassandra.tls.ca_file",
                format!("unusable certificate in {}: {e}", tls.ca_file),
            )
        })?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ConfigError::invalid("cassandra.tls", e.to_string()))?
        .with_root_certificates(roots);
    let config = match (tls.cert_file.is_empty(), tls.key_file.is_empty()) {
        (true, true) => builder.with_no_client_auth(),
        (true, false) => {
            return Err(ConfigError::invalid(
                "cassandra.tls.cert_file",
                "key_file is set but cert_file is not: mutual TLS needs both",
            ))
        }
        (false, true) => {
            return Err(ConfigError::invalid(
                "cassandra.tls.key_file",
                "cert_file is set but key_file is not: mutual TLS needs both",
            ))
        }
        (false, false) => {
            let certs = certificates("cassandra.tls.cert_file", &tls.cert_file)?;
            check_file("cassandra.tls.key_file", &tls.key_file)?;
            // The key's parse error is not shown: it could quote key material.
            let key = PrivateKeyDer::from_pem_file(&tls.key_file).map_err(|_| {
                ConfigError::invalid(
                    "cassandra.tls.key_file",
                    format!("{} holds no PEM private key", tls.key_file),
                )
            })?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                ConfigError::invalid(
                    "cassandra.tls.key_file",
                    format!("the key does not go with cassandra.tls.cert_file: {e}"),
                )
            })?
        }
    };
    Ok(Arc::new(config))
}

impl Config {
    /// With TLS enabled, reads the CA, certificate and key files once, so a bad
    /// one is refused at start naming its key.
    pub fn check_tls_files(&self) -> Result<(), ConfigError> {
        if self.cassandra.tls.enabled {
            client_config(&self.cassandra.tls)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(tls: &TlsConfig) -> String {
        client_config(tls).unwrap_err().to_string()
    }

    #[test]
    fn misconfigurations_name_their_key() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "not a certificate\n").unwrap();
        let garbage = garbage.display().to_string();
        let mut tls = TlsConfig {
            enabled: true,
            ..TlsConfig::default()
        };
        assert!(err(&tls).starts_with("config key `cassandra.tls.ca_file`: required"));
        tls.ca_file = "/nonexistent/ca.pem".into();
        assert!(err(&tls).contains("cannot read /nonexistent/ca.pem"));
        tls.ca_file = dir.path().display().to_string();
        assert!(err(&tls).contains("is not a regular file"));
        tls.ca_file = garbage.clone();
        assert!(err(&tls).contains("holds no PEM certificate"));
        tls.key_file = garbage.clone();
        tls.ca_file = garbage;
        assert!(err(&tls).contains("cassandra.tls"), "{}", err(&tls));
    }
}
