//! HTTPS: builds a rustls acceptor from a PEM certificate chain and private key.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};

use crate::error::EmuError;
use crate::model::TlsFiles;

/// Load the certificate and key and build the acceptor (HTTP/1.1 only, via ALPN).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, EmuError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| {
            EmuError::Tls(format!(
                "cannot read certificate {}: {e}",
                files.cert.display()
            ))
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| EmuError::Tls(format!("bad certificate PEM {}: {e}", files.cert.display())))?;
    if certs.is_empty() {
        return Err(EmuError::Tls(format!(
            "no certificate found in {}",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        EmuError::Tls(format!(
            "cannot read private key {}: {e}",
            files.key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| EmuError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| EmuError::Tls(format!("certificate and key do not match: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
