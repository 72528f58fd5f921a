//! Runs the rules, applies the pack's enforcement and the resources' waivers.

use crate::context::{Context, Findings, RawFinding};
use crate::options::Snapshot;
use crate::pack::{Enforcement, Pack};
use crate::rules::{Check, RULES, Rule, UNUSED_WAIVER, WAIVER_CODE, WAIVER_REASON, rule};
use dbplan_diagnostics::{Code, Diagnostic, Severity, Span};
use dbplan_graph::Graph;
use dbplan_manifest::schema::escape;
use dbplan_manifest::{ManifestSet, PartialResource, Resource};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The annotation prefix of a waiver: `dbplan.io/waive.<CODE>: "<reason>"`.
pub const WAIVER_PREFIX: &str = "dbplan.io/waive.";

/// One policy finding, after enforcement and waivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule's code, with its fixed summary.
    pub code: Code,
    pub id: &'static str,
    /// `error` (mandatory), `warning` (advisory) or `info` (undecidable until apply).
    pub severity: Severity,
    /// The resource address, `Kind/name`.
    pub resource: String,
    pub span: Option<Span>,
    pub message: String,
    pub help: String,
    /// The waiver's reason when a waiver covers this finding.
    pub waived: Option<String>,
    /// The rule could not decide offline (the value is known only at apply).
    pub undecidable: bool,
}

impl Finding {
    /// The finding as a diagnostic for the terminal renderer; a waived finding is shown at
    /// `info` with its reason.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let severity = if self.waived.is_some() {
            Severity::Info
        } else {
            self.severity
        };
        let mut diagnostic = Diagnostic::of(self.code, severity);
        if self.waived.is_some() {
            diagnostic = diagnostic.with_summary(format!("{} (waived)", self.code.summary()));
        }
        diagnostic = diagnostic
            .with_message(&self.message)
            .with_optional_span(self.span)
            .with_resource(&self.resource);
        diagnostic = match &self.waived {
            Some(reason) => diagnostic.with_help(format!("waived: {reason}")),
            None => diagnostic.with_help(&self.help),
        };
        diagnostic
    }
}

/// Counts of a report, as in the lint JSON `summary`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub waived: usize,
}

/// Everything one lint run found.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Sorted by file, position and code.
    pub findings: Vec<Finding>,
    /// Notices about the run itself (e.g. stale provider data).
    pub notices: Vec<String>,
}

impl Report {
    /// Unwaived findings per severity, and the waived ones.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for finding in &self.findings {
            if finding.waived.is_some() {
                counts.waived += 1;
                continue;
            }
            match finding.severity {
                Severity::Error => counts.error += 1,
                Severity::Warning => counts.warning += 1,
                Severity::Info => counts.info += 1,
            }
        }
        counts
    }

    /// Unwaived findings at or above `threshold` (`error` by default, `warning` with
    /// `--fail-on warning`).
    pub fn blocking(&self, threshold: Severity) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.waived.is_none() && finding.severity >= threshold)
            .count()
    }
}

/// The waivers a resource carries: code → reason, for every `dbplan.io/waive.<CODE>` annotation
/// with a non-empty reason (those without one are reported by DB001 instead).
pub fn resource_waivers(resource: &dbplan_manifest::Resource) -> BTreeMap<String, String> {
    resource
        .metadata
        .annotations
        .iter()
        .filter_map(|(key, reason)| {
            let code = key.strip_prefix(WAIVER_PREFIX)?;
            let reason = reason.trim();
            (!reason.is_empty()).then(|| (code.to_owned(), reason.to_owned()))
        })
        .collect()
}

struct Waiver {
    reason: String,
    key_span: Span,
    used: bool,
}

/// Runs every enabled rule over the manifests and their graph.
///
/// Resources whose documents failed validation are checked too, with their failed fields
/// unknown: a finding about them is kept only when it holds for both stand-ins of those fields
/// and does not point at, inside or next to one (see `dbplan_manifest::partial`).
pub fn lint(set: &ManifestSet, graph: &Graph, pack: &Pack, options: &Snapshot) -> Report {
    let partial: Vec<&PartialResource> = set.partial().collect();
    let resources: Vec<&Resource> = set
        .resources
        .iter()
        .chain(partial.iter().map(|partial| &partial.resource))
        .collect();
    let by_address: HashMap<(&str, &str), usize> = resources
        .iter()
        .enumerate()
        .map(|(index, resource)| {
            (
                (
                    resource.address.kind.as_str(),
                    resource.address.name.as_str(),
                ),
                index,
            )
        })
        .collect();
    let mut findings = Vec::new();
    let mut waivers: BTreeMap<(usize, Code), Waiver> = BTreeMap::new();
    collect_waivers(&resources, pack, &mut waivers, &mut findings);

    let run = Run {
        graph,
        options,
        pack,
        by_address: &by_address,
    };
    let mut found = run.rules(&resources);
    if !partial.is_empty() {
        keep_what_holds_for_every_view(&run, set, &partial, &mut found);
    }
    for (rule, raw) in found {
        let Some(resource) = resources.get(raw.resource) else {
            continue;
        };
        let waived = waivers.get_mut(&(raw.resource, rule.code)).map(|waiver| {
            waiver.used = true;
            waiver.reason.clone()
        });
        findings.push(Finding {
            code: rule.code,
            id: rule.id,
            severity: if raw.undecidable {
                Severity::Info
            } else {
                severity(pack.enforcement(rule))
            },
            resource: resource.address.to_string(),
            span: Some(raw.span),
            message: raw.message,
            help: raw.help,
            waived,
            undecidable: raw.undecidable,
        });
    }

    report_unused_waivers(
        &waivers,
        &resources,
        set.resources.len(),
        pack,
        &mut findings,
    );

    sort_findings(&mut findings);
    findings.dedup();
    Report {
        findings,
        notices: Vec::new(),
    }
}

/// In source order (file, then position; findings without a place last), then by code and
/// message, so equal findings are next to each other.
fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        let key = |finding: &Finding| {
            finding
                .span
                .map_or((u32::MAX, 0), |span| (span.file.index(), span.start))
        };
        key(a)
            .cmp(&key(b))
            .then(a.code.as_str().cmp(b.code.as_str()))
            .then(a.message.cmp(&b.message))
    });
}

/// For manifests with partial resources: keeps only the findings that the rules also make with
/// every other stand-in of the unknown fields (one run per alternative view), and that do not
/// rest on an unknown field.
fn keep_what_holds_for_every_view(
    run: &Run<'_>,
    set: &ManifestSet,
    partial: &[&PartialResource],
    found: &mut Vec<(&'static Rule, RawFinding)>,
) {
    let valid = set.resources.len();
    found.retain(|(_, raw)| {
        raw.resource.checked_sub(valid).is_none_or(|index| {
            partial
                .get(index)
                .is_some_and(|partial| !partial.rests_on_unknown(&raw.pointer))
        })
    });
    let views = partial
        .iter()
        .map(|partial| partial.alternatives.len())
        .max()
        .unwrap_or(0);
    for view in 0..views {
        if found.is_empty() {
            return;
        }
        let alternatives: Vec<Resource> = partial
            .iter()
            .map(|partial| partial.alternative_resource(view))
            .collect();
        let resources: Vec<&Resource> = set.resources.iter().chain(&alternatives).collect();
        let also: HashSet<(Code, usize, Span)> = run
            .rules(&resources)
            .into_iter()
            .map(|(rule, raw)| (rule.code, raw.resource, raw.span))
            .collect();
        found.retain(|(rule, raw)| also.contains(&(rule.code, raw.resource, raw.span)));
    }
}

/// DB003: a waiver (of a manifest rule, on a valid resource) that waived nothing.
fn report_unused_waivers(
    waivers: &BTreeMap<(usize, Code), Waiver>,
    resources: &[&Resource],
    valid: usize,
    pack: &Pack,
    findings: &mut Vec<Finding>,
) {
    let unused = UNUSED_WAIVER;
    if pack.enforcement(unused) != Enforcement::Disabled {
        for ((index, code), waiver) in waivers {
            // A waiver of a plan rule (e.g. allowing a replacement) can only be judged by a
            // plan, and one on a resource with unknown fields may waive what they hide.
            if waiver.used
                || rule(code.as_str()).is_some_and(|waived| waived.check.is_plan())
                || *index >= valid
            {
                continue;
            }
            let Some(resource) = resources.get(*index) else {
                continue;
            };
            findings.push(engine_finding(
                unused,
                pack,
                resource.address.to_string(),
                waiver.key_span,
                format!(
                    "the waiver of {code} on {} waived nothing",
                    resource.address
                ),
                format!("remove the `{WAIVER_PREFIX}{code}` annotation, or fix its code"),
            ));
        }
    }
}

/// What every run of the rules over one list of resources shares.
struct Run<'a> {
    graph: &'a Graph,
    options: &'a Snapshot,
    pack: &'a Pack,
    by_address: &'a HashMap<(&'a str, &'a str), usize>,
}

impl Run<'_> {
    /// The enabled manifest rules' raw findings over `resources` (indexed like `by_address`).
    fn rules(&self, resources: &[&Resource]) -> Vec<(&'static Rule, RawFinding)> {
        let mut out = Vec::new();
        for rule in RULES {
            if self.pack.enforcement(rule) == Enforcement::Disabled {
                continue;
            }
            let Check::Manifest(check) = rule.check else {
                continue;
            };
            let params = self.pack.params(rule.code.as_str());
            let context = Context::new(
                resources,
                self.graph,
                self.options,
                params,
                rule,
                self.by_address,
            );
            let mut found = Findings::new(self.by_address);
            check(&context, &mut found);
            out.extend(found.found.into_iter().map(|raw| (rule, raw)));
        }
        out
    }
}

fn severity(enforcement: Enforcement) -> Severity {
    match enforcement {
        Enforcement::Mandatory => Severity::Error,
        Enforcement::Advisory | Enforcement::Disabled => Severity::Warning,
    }
}

fn engine_finding(
    rule: &Rule,
    pack: &Pack,
    resource: String,
    span: Span,
    message: String,
    help: String,
) -> Finding {
    Finding {
        code: rule.code,
        id: rule.id,
        severity: severity(pack.enforcement(rule)),
        resource,
        span: Some(span),
        message,
        help,
        waived: None,
        undecidable: false,
    }
}

/// Reads every `dbplan.io/waive.<CODE>` annotation; reports waivers without a reason (DB001)
/// and waivers of unknown codes (DB002).
fn collect_waivers(
    resources: &[&Resource],
    pack: &Pack,
    waivers: &mut BTreeMap<(usize, Code), Waiver>,
    findings: &mut Vec<Finding>,
) {
    let (no_reason, unknown) = (WAIVER_REASON, WAIVER_CODE);
    let codes: Vec<String> = RULES.iter().map(|rule| rule.code.to_string()).collect();
    for (index, resource) in resources.iter().enumerate() {
        for (key, reason) in &resource.metadata.annotations {
            let Some(code) = key.strip_prefix(WAIVER_PREFIX) else {
                continue;
            };
            let pointer = format!("/metadata/annotations/{}", escape(key));
            let located = resource.document.locate(&pointer);
            let key_span = located.key_span.unwrap_or_else(|| located.span());
            let value_span = located.span();
            let Some(waived) = rule(code) else {
                if pack.enforcement(unknown) != Enforcement::Disabled {
                    let help = match dbplan_manifest::schema::suggest(code, &codes) {
                        Some(suggestion) => format!("did you mean `{WAIVER_PREFIX}{suggestion}`?"),
                        None => "`dbplan policy list` shows every code".to_owned(),
                    };
                    findings.push(engine_finding(
                        unknown,
                        pack,
                        resource.address.to_string(),
                        key_span,
                        format!("`{code}` is not a policy code, so this waiver waives nothing"),
                        help,
                    ));
                }
                continue;
            };
            if reason.trim().is_empty() {
                if pack.enforcement(no_reason) != Enforcement::Disabled {
                    findings.push(engine_finding(
                        no_reason,
                        pack,
                        resource.address.to_string(),
                        value_span,
                        format!("the waiver of {} has no reason", waived.code),
                        "say why the rule does not apply here, who decided and until when, e.g. \"handled by org SCP; owner=alice; expires=2027-01-31\"".to_owned(),
                    ));
                }
                continue;
            }
            waivers.insert(
                (index, waived.code),
                Waiver {
                    reason: reason.trim().to_owned(),
                    key_span,
                    used: false,
                },
            );
        }
    }
}
