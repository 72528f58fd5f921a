//! The routes of the fake, one handler per API operation, grouped by resource (one module each),
//! and the gate every API request passes (`faults`: authentication, latency, fault injection and
//! the `ratelimit-*` headers). `request` holds the helpers every handler shares: the error shape,
//! body fields, paging.

mod backend;
mod ca;
mod clusters;
mod databases;
mod faults;
mod firewall;
mod maintenance;
mod options;
mod pools;
mod request;
mod shared;
mod tags;
mod users;
mod vpcs;

pub(crate) use shared::Shared;

use crate::digitalocean::Faults;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use request::{Answer, ApiError, no_content};
use std::sync::Arc;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/v2/databases/options", get(options::options))
        .route(
            "/v2/databases",
            get(clusters::list_clusters).post(clusters::create_cluster),
        )
        .route(
            "/v2/databases/{id}",
            get(clusters::get_cluster).delete(clusters::delete_cluster),
        )
        .route("/v2/databases/{id}/resize", put(maintenance::resize))
        .route(
            "/v2/databases/{id}/maintenance",
            put(maintenance::maintenance),
        )
        .route("/v2/databases/{id}/upgrade", put(maintenance::upgrade))
        .route(
            "/v2/databases/{id}/firewall",
            get(firewall::get_firewall).put(firewall::put_firewall),
        )
        .route(
            "/v2/databases/{id}/pools",
            get(pools::list_pools).post(pools::add_pool),
        )
        .route(
            "/v2/databases/{id}/pools/{name}",
            get(pools::get_pool)
                .put(pools::update_pool)
                .delete(pools::delete_pool),
        )
        .route(
            "/v2/databases/{id}/dbs",
            get(databases::list_dbs).post(databases::add_db),
        )
        .route(
            "/v2/databases/{id}/dbs/{name}",
            get(databases::get_db).delete(databases::delete_db),
        )
        .route(
            "/v2/databases/{id}/users",
            get(users::list_users).post(users::add_user),
        )
        .route(
            "/v2/databases/{id}/users/{name}",
            get(users::get_user).delete(users::delete_user),
        )
        .route("/v2/databases/{id}/ca", get(ca::get_ca))
        .route("/v2/vpcs", get(vpcs::list_vpcs).post(vpcs::create_vpc))
        .route(
            "/v2/vpcs/{id}",
            get(vpcs::get_vpc)
                .put(vpcs::update_vpc)
                .patch(vpcs::update_vpc)
                .delete(vpcs::delete_vpc),
        )
        .route("/v2/tags", post(tags::create_tag))
        .route(
            "/v2/tags/{tag}/resources",
            post(tags::tag_resources).delete(tags::untag_resources),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            faults::gate,
        ));
    Router::new()
        .route("/_fake/stats", get(fake_stats))
        .route("/_fake/faults", put(fake_faults))
        .merge(api)
        .fallback(|| async { ApiError::not_found() })
        .with_state(shared)
}

async fn fake_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.stats()).into_response()
}

async fn fake_faults(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let faults: Faults = serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::invalid(format!("not a fault setting: {error}")))?;
    shared.set_faults(faults);
    no_content()
}
