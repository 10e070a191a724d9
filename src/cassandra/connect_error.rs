//! Why a session could not be opened, in the user's terms: the driver's nested error
//! is turned into one cause that names the setting to check. No cause ever holds the
//! password: the node's own messages name the user, not the secret.

use std::io;

use rustls::{AlertDescription, CertificateError};
use scylla::errors::{
    BrokenConnectionError, BrokenConnectionErrorKind, ConnectionError, ConnectionPoolError,
    ConnectionSetupRequestErrorKind, DbError, FrameHeaderParseError, MetadataError,
    NewSessionError,
};

use crate::config::CassandraConfig;

/// The cause of a failed connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectCause {
    #[error("authentication failed for user {username}: {message} (check cassandra.username and cassandra.password)")]
    BadCredentials { username: String, message: String },
    #[error(
        "the node requires password authentication: set cassandra.username and cassandra.password"
    )]
    CredentialsRequired,
    #[error(
        "tls: the node's certificate is not signed by a CA in cassandra.tls.ca_file ({ca_file})"
    )]
    UnknownCa { ca_file: String },
    #[error("tls: the node's certificate has expired ({detail})")]
    ServerCertExpired { detail: String },
    #[error("tls: the node's certificate is not valid for the address connected to ({detail})")]
    WrongHost { detail: String },
    #[error("tls: the node's certificate was rejected: {detail}")]
    ServerCertRejected { detail: String },
    #[error("tls: the node requires a client certificate: set cassandra.tls.cert_file and cassandra.tls.key_file")]
    ClientCertRequired,
    #[error("tls: the node refused the client certificate {cert_file}: it has expired")]
    ClientCertExpired { cert_file: String },
    #[error("tls: the node refused the client certificate {cert_file} ({alert})")]
    ClientCertRefused { cert_file: String, alert: String },
    #[error("the node closed the connection at the first request: {detail}")]
    ClosedByNode { detail: String },
    #[error("the port speaks TLS only, but cassandra.tls.enabled is false: set it to true and cassandra.tls.ca_file")]
    TlsRequired,
    #[error("tls: the port does not speak TLS (cassandra.tls.enabled is true): {detail}")]
    NotTls { detail: String },
    #[error("tls handshake failed: {detail}")]
    Handshake { detail: String },
    #[error("{0}")]
    Other(String),
}

impl ConnectCause {
    /// Classifies the driver's error for a session built from `config`.
    pub fn of(error: &NewSessionError, config: &CassandraConfig) -> ConnectCause {
        match error {
            NewSessionError::MetadataError(MetadataError::ConnectionPoolError(
                ConnectionPoolError::Broken {
                    last_connection_error,
                },
            )) => Self::of_connection(last_connection_error, config),
            other => ConnectCause::Other(other.to_string()),
        }
    }

    fn of_connection(error: &ConnectionError, config: &CassandraConfig) -> ConnectCause {
        match error {
            ConnectionError::IoError(io) => Self::of_io(io, config),
            ConnectionError::BrokenConnection(broken) => Self::of_broken(broken, config),
            ConnectionError::ConnectTimeout => ConnectCause::Other(format!(
                "no connection within cassandra.connect_timeout ({:?})",
                config.connect_timeout
            )),
            ConnectionError::ConnectionSetupRequestError(setup) => match &setup.error {
                ConnectionSetupRequestErrorKind::DbError(DbError::AuthenticationError, message) => {
                    ConnectCause::BadCredentials {
                        username: config.username.clone(),
                        message: message.clone(),
                    }
                }
                ConnectionSetupRequestErrorKind::MissingAuthentication => {
                    ConnectCause::CredentialsRequired
                }
                ConnectionSetupRequestErrorKind::BrokenConnection(broken) => {
                    Self::of_broken(broken, config)
                }
                _ => ConnectCause::Other(setup.to_string()),
            },
            other => ConnectCause::Other(other.to_string()),
        }
    }

    fn of_broken(broken: &BrokenConnectionError, config: &CassandraConfig) -> ConnectCause {
        match broken.downcast_ref::<BrokenConnectionErrorKind>() {
            Some(BrokenConnectionErrorKind::FrameHeaderParseError(
                FrameHeaderParseError::HeaderIoError(io),
            ))
            | Some(BrokenConnectionErrorKind::WriteError(io)) => Self::of_io(io, config),
            _ => ConnectCause::Other(broken.to_string()),
        }
    }

    fn of_io(io: &io::Error, config: &CassandraConfig) -> ConnectCause {
        if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
            return Self::of_tls(tls, config);
        }
        let closed = matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionAborted
        );
        match (closed, config.tls.enabled) {
            (true, false) => ConnectCause::ClosedByNode {
                detail: io.to_string(),
            },
            (true, true) => ConnectCause::Handshake {
                detail: format!("the node closed the connection ({io})"),
            },
            _ => ConnectCause::Other(io.to_string()),
        }
    }

    fn of_tls(error: &rustls::Error, config: &CassandraConfig) -> ConnectCause {
        let tls = &config.tls;
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::UnknownIssuer => ConnectCause::UnknownCa {
                    ca_file: tls.ca_file.clone(),
                },
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    ConnectCause::ServerCertExpired {
                        detail: cert.to_string(),
                    }
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => ConnectCause::WrongHost {
                    detail: cert.to_string(),
                },
                _ => ConnectCause::ServerCertRejected {
                    detail: cert.to_string(),
                },
            },
            rustls::Error::AlertReceived(alert) => Self::of_alert(*alert, config),
            rustls::Error::InvalidMessage(_) => ConnectCause::NotTls {
                detail: error.to_string(),
            },
            _ => ConnectCause::Handshake {
                detail: error.to_string(),
            },
        }
    }

    /// An alert from the node: about our client certificate, or about the handshake.
    fn of_alert(alert: AlertDescription, config: &CassandraConfig) -> ConnectCause {
        let cert_file = &config.tls.cert_file;
        let about_client_cert = matches!(
            alert,
            AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateRevoked
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnknownCA
                | AlertDescription::AccessDenied
        );
        if about_client_cert && cert_file.is_empty() {
            return ConnectCause::ClientCertRequired;
        }
        match alert {
            AlertDescription::CertificateExpired => ConnectCause::ClientCertExpired {
                cert_file: cert_file.clone(),
            },
            _ if about_client_cert => ConnectCause::ClientCertRefused {
                cert_file: cert_file.clone(),
                alert: format!("alert {alert:?}"),
            },
            // Some TLS stacks answer a client certificate they cannot verify this way.
            AlertDescription::InternalError | AlertDescription::HandshakeFailure
                if !cert_file.is_empty() =>
            {
                ConnectCause::Handshake {
                    detail: format!(
                        "received fatal alert {alert:?}; the node may have refused the client certificate {cert_file}"
                    ),
                }
            }
            _ => ConnectCause::Handshake {
                detail: format!("received fatal alert {alert:?}"),
            },
        }
    }

    /// Whether the node hung up before answering a plain-text request: then it is
    /// worth checking whether the port speaks TLS.
    pub fn is_closed_by_node(&self) -> bool {
        matches!(self, ConnectCause::ClosedByNode { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tls: bool, cert: &str) -> CassandraConfig {
        let mut c = CassandraConfig {
            username: "app".into(),
            password: "s3cret-password".into(),
            ..CassandraConfig::default()
        };
        c.tls.enabled = tls;
        c.tls.ca_file = "/etc/ssa/ca.pem".into();
        c.tls.cert_file = cert.into();
        c.tls.key_file = cert.replace(".pem", ".key");
        c
    }

    fn tls_io(e: rustls::Error) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn server_certificate_problems_name_the_setting() {
        let c = config(true, "");
        let cause = |e: CertificateError| {
            ConnectCause::of_io(&tls_io(rustls::Error::InvalidCertificate(e)), &c).to_string()
        };
        assert_eq!(
            cause(CertificateError::UnknownIssuer),
            "tls: the node's certificate is not signed by a CA in cassandra.tls.ca_file (/etc/ssa/ca.pem)"
        );
        assert!(cause(CertificateError::Expired)
            .starts_with("tls: the node's certificate has expired ("));
        assert!(cause(CertificateError::NotValidForName).starts_with(
            "tls: the node's certificate is not valid for the address connected to ("
        ));
        assert!(cause(CertificateError::BadSignature)
            .starts_with("tls: the node's certificate was rejected: "));
    }

    #[test]
    fn alerts_about_the_client_certificate() {
        let alert = |c: &CassandraConfig, a| {
            ConnectCause::of_io(&tls_io(rustls::Error::AlertReceived(a)), c).to_string()
        };
        let none = config(true, "");
        assert_eq!(
            alert(&none, AlertDescription::CertificateRequired),
            "tls: the node requires a client certificate: set cassandra.tls.cert_file and cassandra.tls.key_file"
        );
        let with = config(true, "/etc/ssa/client.pem");
        assert_eq!(
            alert(&with, AlertDescription::CertificateExpired),
            "tls: the node refused the client certificate /etc/ssa/client.pem: it has expired"
        );
        assert_eq!(
            alert(&with, AlertDescription::UnknownCA),
            "tls: the node refused the client certificate /etc/ssa/client.pem (alert UnknownCA)"
        );
        assert_eq!(
            alert(&with, AlertDescription::ProtocolVersion),
            "tls handshake failed: received fatal alert ProtocolVersion"
        );
    }

    #[test]
    fn a_reset_is_closed_by_node_only_in_plain_text() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(ConnectCause::of_io(&reset, &config(false, "")).is_closed_by_node());
        assert!(!ConnectCause::of_io(&reset, &config(true, "")).is_closed_by_node());
    }

    #[test]
    fn no_cause_holds_the_password() {
        let c = config(true, "/etc/ssa/client.pem");
        let causes = [
            ConnectCause::of_io(
                &tls_io(rustls::Error::AlertReceived(
                    AlertDescription::BadCertificate,
                )),
                &c,
            ),
            ConnectCause::BadCredentials {
                username: c.username.clone(),
                message: "Provided username app and/or password are incorrect".into(),
            },
        ];
        for cause in causes {
            assert!(!cause.to_string().contains(&c.password), "{cause}");
        }
    }
}
