//! `GET ...?watch=true`: a stream of watch events (`{"type": "ADDED"|"MODIFIED"|"DELETED",
//! "object": ...}`, one JSON object per line) for the objects a list with the same selectors
//! would return. Without a `resourceVersion` (or with `0`) every current object comes first as
//! `ADDED`; with one, only what changed after it. The fake keeps no history: the changes are
//! found by comparing the objects' resource versions every 50 ms, so several changes between
//! two looks are one `MODIFIED`. The stream ends after `timeoutSeconds` (default 30 minutes)
//! or when the fake stops.

use super::store::{Request, Requirement};
use super::{Shared, lock};
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one watch knows: the objects it has reported, by namespace and name.
struct Watch {
    shared: Arc<Shared>,
    request: Request,
    labels: Vec<Requirement>,
    fields: Vec<(String, bool, String)>,
    known: BTreeMap<(String, String), Json>,
    pending: VecDeque<Json>,
    deadline: Instant,
    stopping: tokio::sync::watch::Receiver<bool>,
}

fn version(object: &Json) -> u64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Json::as_str)
        .and_then(|text| text.parse().ok())
        .unwrap_or_default()
}

fn place(object: &Json) -> (String, String) {
    let text = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (text("/metadata/namespace"), text("/metadata/name"))
}

impl Watch {
    /// The objects a list would return now, with their `apiVersion` and `kind`.
    fn current(&self) -> Vec<Json> {
        let world = lock(&self.shared.world);
        let Ok((_, list)) = world.list(&self.request, &self.labels, &self.fields) else {
            return Vec::new();
        };
        let api_version = self.request.resource.api_version(&self.request.version);
        list.get("items")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|mut item| {
                item["apiVersion"] = json!(api_version);
                item["kind"] = json!(self.request.resource.kind);
                item
            })
            .collect()
    }

    /// Queues an event for every object added, changed or gone since the last look.
    fn look(&mut self) {
        let now = self.current();
        let mut seen = BTreeMap::new();
        for object in now {
            let key = place(&object);
            match self.known.get(&key) {
                None => self
                    .pending
                    .push_back(json!({"type": "ADDED", "object": object})),
                Some(before) if version(before) != version(&object) => {
                    self.pending
                        .push_back(json!({"type": "MODIFIED", "object": object}));
                }
                Some(_) => {}
            }
            seen.insert(key, object);
        }
        for (key, object) in std::mem::take(&mut self.known) {
            if !seen.contains_key(&key) {
                self.pending
                    .push_back(json!({"type": "DELETED", "object": object}));
            }
        }
        self.known = seen;
    }
}

/// The streaming answer of a watch request.
pub(crate) fn watch(
    shared: Arc<Shared>,
    request: Request,
    labels: Vec<Requirement>,
    fields: Vec<(String, bool, String)>,
    query: &BTreeMap<String, String>,
) -> Response {
    let seconds = query
        .get("timeoutSeconds")
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(1800);
    let since = query
        .get("resourceVersion")
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(0);
    let stopping = shared.stopping.subscribe();
    let mut state = Watch {
        shared,
        request,
        labels,
        fields,
        known: BTreeMap::new(),
        pending: VecDeque::new(),
        deadline: Instant::now() + Duration::from_secs(seconds),
        stopping,
    };
    if since > 0 {
        // What the client already has (as of `since`) is known; anything newer is news.
        state.known = state
            .current()
            .into_iter()
            .filter(|object| version(object) <= since)
            .map(|object| (place(&object), object))
            .collect();
    }
    state.look();
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.pending.pop_front() {
                let mut line = event.to_string();
                line.push('\n');
                return Some((
                    Ok::<Bytes, std::convert::Infallible>(Bytes::from(line)),
                    state,
                ));
            }
            if Instant::now() >= state.deadline || *state.stopping.borrow() {
                return None;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = state.stopping.changed() => return None,
            }
            state.look();
        }
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}
