//! ## What it does
//! Checks a DigitalOcean database cluster's region, engine version, node count and size slug
//! against what DigitalOcean offers for the engine, from the dated snapshot of
//! `GET /v2/databases/options` in `policies/data/`. For example `db-s-1vcpu-1gb` is offered only
//! as a single node, MongoDB runs on 1 or 3 nodes, Kafka on 3, 6, 9 or 15. The version must be
//! written as the options list it (`16`, not `16.4`) and must not be past the end-of-life date
//! the snapshot's `version_availability` gives for it.
//!
//! ## Why is this bad?
//! DigitalOcean refuses the cluster at apply time (a version such as `16.4` included: the
//! API picks the minor version itself). An end-of-life version gets no fixes and DigitalOcean
//! upgrades or retires it on its own schedule. Project Planton allows 1 to 3 nodes for every
//! engine and does not check the slug at all.
//!
//! ## Example
//! ```yaml
//! spec:
//!   engine: pg
//!   engine_version: "16.4"
//!   size_slug: db-s-1vcpu-1gb
//!   node_count: 2
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   engine: pg
//!   engine_version: "16"
//!   size_slug: db-s-1vcpu-2gb
//!   node_count: 2
//! ```
//!
//! ## References
//! - DigitalOcean API, "List Database Options" (`GET /v2/databases/options`): per engine, the
//!   `regions`, `versions` and `layouts` (`num_nodes` with the `sizes` offered at that count);
//!   `version_availability` with each version's `end_of_life` and `end_of_availability`.
//! - DigitalOcean, PostgreSQL limits: standby nodes are available "with the exception of the
//!   smallest plan of single node clusters".
//! - DigitalOcean, MongoDB: "MongoDB clusters can only have two standby nodes."

use super::{Check, Code, Rule, digitalocean_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::schema::suggest;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB301",
        "DigitalOcean size, node count, region or version not offered",
    ),
    id: "size-slug-compat",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db301_size_slug_compat.rs"),
    check: Check::Manifest(check),
};

/// `8.0` and `8` name the same version.
fn same_version(written: &str, offered: &str) -> bool {
    let normal = |text: &str| text.strip_suffix(".0").unwrap_or(text).to_owned();
    normal(written) == normal(offered)
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    let snapshot = context.options;
    for (resource, spec) in digitalocean_clusters(context) {
        let engine = spec.engine.slug();
        let Some(options) = snapshot.options.get(engine) else {
            findings.undecidable(
                resource,
                "/spec/engine",
                format!(
                    "the options snapshot of {} has no data for `{engine}`",
                    snapshot.snapshot.taken
                ),
                "refresh policies/data/digitalocean-database-options.json",
            );
            continue;
        };
        let region = spec.region.as_str();
        if !options.regions.iter().any(|offered| offered == region) {
            findings.fail(
                resource,
                "/spec/region",
                format!("DigitalOcean does not offer {engine} clusters in {region}"),
                format!("use one of: {}", options.regions.join(", ")),
            );
        }
        check_version(
            context,
            findings,
            resource,
            engine,
            &spec.engine_version,
            options,
        );
        let counts: Vec<String> = options
            .layouts
            .iter()
            .map(|layout| layout.num_nodes.to_string())
            .collect();
        let Some(layout) = options
            .layouts
            .iter()
            .find(|layout| layout.num_nodes == spec.node_count)
        else {
            findings.fail(
                resource,
                "/spec/node_count",
                format!(
                    "{engine} clusters run on {} nodes, not {}",
                    join_or(&counts),
                    spec.node_count
                ),
                format!("set `node_count` to {}", join_or(&counts)),
            );
            continue;
        };
        check_size(
            findings,
            resource,
            engine,
            &spec.size_slug,
            spec.node_count,
            layout,
            options,
        );
    }
}

/// The size must be offered at the cluster's node count; one offered only at other counts is
/// reported with those counts and a size offered at this one.
fn check_size(
    findings: &mut Findings<'_>,
    resource: &dbplan_manifest::Resource,
    engine: &str,
    size_slug: &str,
    node_count: u32,
    layout: &crate::options::Layout,
    options: &crate::options::EngineOptions,
) {
    if layout.sizes.iter().any(|size| size == size_slug) {
        return;
    }
    let elsewhere: Vec<String> = options
        .layouts
        .iter()
        .filter(|other| other.sizes.iter().any(|size| size == size_slug))
        .map(|other| other.num_nodes.to_string())
        .collect();
    if elsewhere.is_empty() {
        let help = match suggest(size_slug, &layout.sizes) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!(
                "sizes offered at {} nodes include: {}",
                node_count,
                layout
                    .sizes
                    .iter()
                    .take(6)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        findings.fail(
            resource,
            "/spec/size_slug",
            format!("`{size_slug}` is not a size DigitalOcean offers for {engine}"),
            help,
        );
    } else {
        let bigger = layout
            .sizes
            .iter()
            .find(|size| size.starts_with("db-s-"))
            .or(layout.sizes.first())
            .cloned()
            .unwrap_or_default();
        findings.fail(
            resource,
            "/spec/size_slug",
            format!(
                "`{}` is offered for {engine} only with {} node{}, not {}",
                size_slug,
                join_or(&elsewhere),
                if elsewhere.len() == 1 && elsewhere[0] == "1" {
                    ""
                } else {
                    "s"
                },
                node_count
            ),
            format!(
                "use a larger size such as `{bigger}`, or `node_count: {}`",
                join_or(&elsewhere)
            ),
        );
    }
}

/// The version must be one DigitalOcean offers, written as the options list it (`16`, not
/// `16.4`: the API takes the major version and picks the minor itself), and not one the
/// snapshot marks as past its end of life.
fn check_version(
    context: &Context<'_>,
    findings: &mut Findings<'_>,
    resource: &dbplan_manifest::Resource,
    engine: &str,
    written: &str,
    options: &crate::options::EngineOptions,
) {
    let snapshot = context.options;
    let offered = options
        .versions
        .iter()
        .find(|offered| same_version(written, offered));
    let offered = match offered {
        Some(offered) => offered,
        None => {
            if let Some(prefix) = options
                .versions
                .iter()
                .find(|offered| written.starts_with(&format!("{offered}.")))
            {
                findings.fail(
                    resource,
                    "/spec/engine_version",
                    format!(
                        "DigitalOcean's API takes {engine} versions as it lists them ({}), not `{written}`: it picks the minor version itself",
                        options.versions.join(", ")
                    ),
                    format!("write `engine_version: \"{prefix}\"`"),
                );
                prefix
            } else {
                // Suggest the versions not past their end of life, when there are any.
                let supported: Vec<&str> = options
                    .versions
                    .iter()
                    .filter(|version| snapshot.end_of_life(engine, version).is_none())
                    .map(String::as_str)
                    .collect();
                let listed = if supported.is_empty() {
                    options.versions.join(", ")
                } else {
                    supported.join(", ")
                };
                findings.fail(
                    resource,
                    "/spec/engine_version",
                    format!("DigitalOcean does not offer {engine} version {written}"),
                    format!("use one of: {listed}"),
                );
                return;
            }
        }
    };
    if let Some(date) = snapshot.end_of_life(engine, offered) {
        let upgrade = match snapshot.default_version(engine) {
            Some(default) if default != offered.as_str() => {
                format!("use a supported version such as {default} (DigitalOcean's default)")
            }
            _ => {
                let supported: Vec<&str> = options
                    .versions
                    .iter()
                    .filter(|version| snapshot.end_of_life(engine, version).is_none())
                    .map(String::as_str)
                    .collect();
                if supported.is_empty() {
                    format!(
                        "the snapshot lists no {engine} version before its end of life: check GET /v2/databases/options for a newer one and refresh policies/data/digitalocean-database-options.json"
                    )
                } else {
                    format!("use a supported version: {}", supported.join(", "))
                }
            }
        };
        findings.fail(
            resource,
            "/spec/engine_version",
            format!(
                "{engine} {offered} reached its end of life on {date} (DigitalOcean options snapshot of {})",
                snapshot.snapshot.taken
            ),
            upgrade,
        );
    }
}

/// "1", "1 or 3", "3, 6, 9 or 15".
fn join_or(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
