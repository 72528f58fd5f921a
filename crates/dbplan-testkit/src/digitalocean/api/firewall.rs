//! A cluster's firewall: its trusted sources (`GET`/`PUT /v2/databases/{id}/firewall`).

use super::clusters::{require_ready, with_cluster};
use super::request::{
    Answer, ApiError, body, no_content, now_text, ok, optional_str, required_str,
};
use super::shared::Shared;
use super::vpcs::parse_cidr;
use crate::digitalocean::model::Rule;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn parse_rules(value: Option<&Value>) -> Result<Vec<Rule>, ApiError> {
    let Some(items) = value.and_then(Value::as_array) else {
        return Err(ApiError::invalid("rules must be an array"));
    };
    if items.len() > 100 {
        return Err(ApiError::invalid(
            "a cluster accepts at most 100 trusted sources",
        ));
    }
    let mut rules = Vec::new();
    for item in items {
        let Some(map) = item.as_object() else {
            return Err(ApiError::invalid("each rule must be an object"));
        };
        let kind = required_str(map, "type")?;
        if !["droplet", "k8s", "ip_addr", "tag", "app"].contains(&kind) {
            return Err(ApiError::invalid(format!(
                "rule type {kind:?} is not one of droplet, k8s, ip_addr, tag, app"
            )));
        }
        let value = required_str(map, "value")?;
        if value.is_empty() {
            return Err(ApiError::invalid("rule value must not be empty"));
        }
        if kind == "ip_addr" && parse_cidr(value).is_none() {
            return Err(ApiError::invalid(format!(
                "{value:?} is not an IPv4 address or range"
            )));
        }
        rules.push(Rule {
            uuid: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            value: value.to_owned(),
            description: optional_str(map, "description")?.map(str::to_owned),
            created_at: now_text(),
        });
    }
    Ok(rules)
}

pub(super) async fn get_firewall(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let rules = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .rules
            .iter()
            .map(|rule| cluster.rule_json(rule))
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"rules": rules}))
}

pub(super) async fn put_firewall(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let rules = parse_rules(map.get("rules"))?;
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        // A rule that stays keeps its uuid and creation time.
        let kept: Vec<Rule> = rules
            .into_iter()
            .map(|rule| {
                cluster
                    .rules
                    .iter()
                    .find(|old| old.kind == rule.kind && old.value == rule.value)
                    .map(|old| Rule {
                        description: rule.description.clone(),
                        ..old.clone()
                    })
                    .unwrap_or(rule)
            })
            .collect();
        cluster.rules = kept;
        Ok(())
    })?;
    no_content()
}
