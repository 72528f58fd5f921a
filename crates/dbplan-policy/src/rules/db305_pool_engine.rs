//! ## What it does
//! Reports a connection pool on a DigitalOcean cluster whose engine is not PostgreSQL.
//!
//! ## Why is this bad?
//! Connection pools are PgBouncer, which DigitalOcean offers only for PostgreSQL clusters: the
//! API refuses a pool on MySQL, Valkey or any other engine.
//!
//! ## Example
//! A `DigitalOceanDatabaseConnectionPool` whose `cluster_id` references an `engine: mysql`
//! cluster.
//!
//! Use instead: pool on a PostgreSQL cluster, or use the engine's own connection handling.
//!
//! ## References
//! - DigitalOcean API, "Add a New Connection Pool (PostgreSQL)": "For PostgreSQL database
//!   clusters, connection pools can be used to allow a database to share its idle connections."

use super::{Check, Code, Rule};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use dbplan_manifest::kinds::DigitalOceanEngine;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB305",
        "connection pool on a cluster that is not PostgreSQL",
    ),
    id: "pool-engine",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db305_pool_engine.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        let Spec::DigitalOceanDatabaseConnectionPool(spec) = &resource.spec else {
            continue;
        };
        if let Target::Resource(cluster, _) = context.target(&spec.cluster_id)
            && let Spec::DigitalOceanDatabaseCluster(cluster_spec) = &cluster.spec
            && cluster_spec.engine != DigitalOceanEngine::Pg
        {
            findings.fail(
                resource,
                "/spec/cluster_id",
                format!(
                    "{} runs {}; connection pools exist only for PostgreSQL (pg) clusters",
                    cluster.address,
                    cluster_spec.engine.slug()
                ),
                "remove the pool, or point it at a PostgreSQL cluster",
            );
        }
    }
}
