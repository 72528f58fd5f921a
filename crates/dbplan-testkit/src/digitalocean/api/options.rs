//! The engine options DigitalOcean publishes (`GET /v2/databases/options`), served from dbplan's
//! dated snapshot, and the lookups the handlers check requests against.

use super::request::{Answer, ok};
use super::shared::Shared;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::Value;
use std::sync::Arc;

/// The engine options DigitalOcean publishes, from dbplan's snapshot of them.
pub(super) const OPTIONS: &str =
    include_str!("../../../../../policies/data/digitalocean-database-options.json");

impl Shared {
    pub(super) fn engine(&self, engine: &str) -> Option<&Value> {
        self.options.get("options")?.get(engine)
    }

    pub(super) fn strings(value: Option<&Value>) -> Vec<String> {
        value
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The sizes the engine offers with `num_nodes` nodes (`None`: no such layout).
    pub(super) fn sizes(&self, engine: &str, num_nodes: i64) -> Option<Vec<String>> {
        self.engine(engine)?
            .get("layouts")?
            .as_array()?
            .iter()
            .find(|layout| layout.get("num_nodes").and_then(Value::as_i64) == Some(num_nodes))
            .map(|layout| Shared::strings(layout.get("sizes")))
    }
}

pub(super) async fn options(State(shared): State<Arc<Shared>>) -> Answer {
    ok(StatusCode::OK, shared.options.clone())
}
