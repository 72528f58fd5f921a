//! A cluster's CA certificate.

use super::clusters::with_cluster;
use super::request::{Answer, ok};
use super::shared::Shared;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

/// A stand-in certificate authority in PEM form, different per cluster.
pub(super) fn certificate(id: &str) -> String {
    use base64::Engine as _;
    let mut rng = fastrand::Rng::with_seed(id.bytes().map(u64::from).sum());
    let der: Vec<u8> = (0..640).map(|_| rng.u8(..)).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

pub(super) async fn get_ca(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    use base64::Engine as _;
    let ca = with_cluster(&shared, &id, |cluster, _| Ok(cluster.ca.clone()))?;
    ok(
        StatusCode::OK,
        json!({"ca": {"certificate": base64::engine::general_purpose::STANDARD.encode(ca)}}),
    )
}
