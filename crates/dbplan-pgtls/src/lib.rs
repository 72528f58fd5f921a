//! The TLS client configuration of dbplan's PostgreSQL connections, shared by the PostgreSQL
//! provider and the PostgreSQL state backend: libpq's `sslmode` on rustls (ring).
//!
//! - `prefer` and `require` encrypt without verifying the server's certificate, as libpq does
//!   (the handshake's signature is still checked against the certificate's key);
//! - `verify-ca` and `verify-full` verify the chain and the host name against `sslrootcert`,
//!   or the system's CA certificates without one.
//!
//! Written here rather than taken from a crate: tokio-postgres-rustls takes a finished rustls
//! configuration, and no maintained crate maps libpq's modes onto one.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a TLS configuration could not be made. The messages are whole sentences a caller can
/// show as they are.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// rustls refused its own set-up (no protocol version in common with the provider).
    #[error("TLS setup: {0}")]
    Setup(#[source] rustls::Error),
    #[error(
        "cannot read sslrootcert {}: {source}; give the PEM file of the CA that signed the server's certificate",
        path.display()
    )]
    ReadRoots {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("sslrootcert {} is not a PEM certificate file: {source}", path.display())]
    NotPem {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("sslrootcert {}: {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("the CA certificate {origin} gave is not a PEM certificate: {source}")]
    BadPem {
        origin: String,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the CA certificate {origin} gave cannot be used: {source}")]
    BadGivenCertificate {
        origin: String,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "sslmode verify-full needs a CA certificate: set sslrootcert, or install the system's CA certificates"
    )]
    NoRoots,
}

/// The CA certificates a verifying connection trusts.
#[derive(Clone, Copy, Debug)]
pub enum Roots<'a> {
    /// The system's CA certificates.
    System,
    /// A PEM file (`sslrootcert`).
    File(&'a Path),
    /// PEM text a service gave (a DigitalOcean cluster's CA, from its API); `origin` names the
    /// service in errors.
    Pem { pem: &'a str, origin: &'a str },
}

/// The client configuration: verifying against `sslrootcert` (or the system's CAs) when
/// `verify`, else encrypting without verifying.
pub fn client_config(
    verify: bool,
    sslrootcert: Option<&Path>,
) -> Result<rustls::ClientConfig, TlsSetupError> {
    client_config_with(verify, sslrootcert.map_or(Roots::System, Roots::File))
}

/// The client configuration: verifying against `roots` when `verify`, else encrypting without
/// verifying.
pub fn client_config_with(
    verify: bool,
    roots: Roots<'_>,
) -> Result<rustls::ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Setup)?;
    if !verify {
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let wanted = roots;
    let mut roots = rustls::RootCertStore::empty();
    match wanted {
        Roots::File(path) => {
            use rustls::pki_types::pem::PemObject;
            let certificates =
                CertificateDer::pem_file_iter(path).map_err(|source| TlsSetupError::ReadRoots {
                    path: path.to_path_buf(),
                    source,
                })?;
            for certificate in certificates {
                let certificate = certificate.map_err(|source| TlsSetupError::NotPem {
                    path: path.to_path_buf(),
                    source,
                })?;
                roots
                    .add(certificate)
                    .map_err(|source| TlsSetupError::BadCertificate {
                        path: path.to_path_buf(),
                        source,
                    })?;
            }
        }
        Roots::Pem { pem, origin } => {
            use rustls::pki_types::pem::PemObject;
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let certificate = certificate.map_err(|source| TlsSetupError::BadPem {
                    origin: origin.to_owned(),
                    source,
                })?;
                roots
                    .add(certificate)
                    .map_err(|source| TlsSetupError::BadGivenCertificate {
                        origin: origin.to_owned(),
                        source,
                    })?;
            }
        }
        Roots::System => {
            for certificate in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as libpq skips it.
                let _ = roots.add(certificate);
            }
        }
    }
    if roots.is_empty() {
        return Err(TlsSetupError::NoRoots);
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Accepts any server certificate (for `prefer` and `require`), while still checking that
/// the handshake is signed by the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_root_file_is_named_with_what_to_give() {
        let error =
            client_config(true, Some(Path::new("/nonexistent/ca.pem"))).expect_err("no such file");
        let message = error.to_string();
        assert!(
            message.starts_with("cannot read sslrootcert /nonexistent/ca.pem: "),
            "{message}"
        );
        assert!(
            message.ends_with("give the PEM file of the CA that signed the server's certificate")
        );
    }

    #[test]
    fn given_pem_text_that_holds_no_certificate_is_refused_with_its_origin() {
        let garbage =
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
        let error = client_config_with(
            true,
            Roots::Pem {
                pem: garbage,
                origin: "DigitalOcean",
            },
        )
        .expect_err("not a certificate");
        assert!(
            error
                .to_string()
                .starts_with("the CA certificate DigitalOcean gave "),
            "{error}"
        );
        let empty = client_config_with(
            true,
            Roots::Pem {
                pem: "",
                origin: "DigitalOcean",
            },
        )
        .expect_err("no certificate");
        assert!(matches!(empty, TlsSetupError::NoRoots), "{empty}");
    }

    #[test]
    fn without_verification_any_configuration_is_made() {
        assert!(client_config(false, None).is_ok());
    }
}
