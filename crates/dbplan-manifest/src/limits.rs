//! The limits of the YAML reader, and the diagnostics that say one was hit.
//!
//! YAML can make a small file expensive: aliases that expand to aliases (a "billion laughs"),
//! nesting thousands of levels deep (recursion), one enormous value. serde-saphyr's budget
//! stops these, but its defaults also count whole streams (1,024 documents, 250,000 nodes), so a
//! generated file of a few thousand manifests was refused. The limits here split the two
//! concerns:
//!
//! - Shape limits that no manifest comes near are fixed: nesting depth, the size of one value,
//!   alias replay per document.
//! - Volume limits grow with the file: a file may hold as many documents and nodes as its bytes
//!   can spell out plainly, so aliases cannot make it bigger than an ordinary file of the same
//!   size, and the size of the file is already capped (`DBPLAN_MAX_INPUT_BYTES`).

use crate::codes;
use crate::input::human;
use dbplan_diagnostics::{Diagnostic, FileId, SourceFile, Span};
use serde_saphyr::ExternalMessageSource;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::granit_parser::ErrorKind;

/// Deepest nesting of mappings and sequences. A manifest needs fewer than ten levels; the
/// recursive stages after parsing must never see thousands.
pub const MAX_DEPTH: usize = 64;

/// Largest single scalar (a string, a key). The largest real manifest values are certificates
/// and SQL snippets of a few KiB.
pub const MAX_SCALAR_BYTES: usize = 1024 * 1024;

/// A file may hold one YAML node per this many bytes of its size (a plain `- a` item is four
/// bytes for one node; ordinary manifests spend ten or more)...
pub const BYTES_PER_NODE: usize = 2;

/// ... and at least this many nodes whatever its size, so small files are never at the limit.
pub const MIN_NODES: usize = 250_000;

/// Events one document may replay from aliases (serde-saphyr's default; it resets per document).
pub const MAX_REPLAYED_EVENTS_PER_DOCUMENT: usize = 1_000_000;

/// The stack of the threads that parse YAML. Parsing recurses once per nesting level; an
/// unoptimised build uses tens of KiB per level, so a default 2 MiB thread stack overflows (an
/// abort, not a diagnostic) before [`MAX_DEPTH`] is reached. Only the pages used are committed.
pub const PARSE_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Runs `work` on a thread with [`PARSE_STACK_BYTES`] of stack, or on this thread when no
/// thread can be started (a process limit).
pub(crate) fn on_parse_stack<R: Send>(work: impl Fn() -> R + Sync) -> R {
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .stack_size(PARSE_STACK_BYTES)
            .spawn_scoped(scope, &work)
        {
            Ok(thread) => match thread.join() {
                Ok(result) => result,
                // The work panicked: a bug, not an input; resume it so it is not lost.
                Err(panic) => std::panic::resume_unwind(panic),
            },
            Err(_) => work(),
        }
    })
}

/// The smallest allowance for the total bytes of values, so that small files may still repeat
/// values through aliases.
const MIN_SCALAR_BYTES_TOTAL: usize = 64 * 1024 * 1024;

/// How an error raised by [`check_scalar`] is recognised when it comes back from the parser.
const SCALAR_MARKER: &str = "dbplan-scalar-limit:";

/// The limits for one file of `len` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YamlLimits {
    /// Nodes (scalars, mappings, sequences, including those replayed from aliases).
    pub nodes: usize,
    /// Total bytes of all scalars, including those replayed from aliases.
    pub scalar_bytes: usize,
}

impl YamlLimits {
    pub fn for_len(len: usize) -> Self {
        YamlLimits {
            nodes: (len / BYTES_PER_NODE).max(MIN_NODES),
            scalar_bytes: len.saturating_mul(2).max(MIN_SCALAR_BYTES_TOTAL),
        }
    }

    /// serde-saphyr's options for a file under these limits.
    pub(crate) fn options(self) -> serde_saphyr::Options {
        let mut budget = serde_saphyr::Budget::default();
        budget.max_depth = MAX_DEPTH;
        // The scanner reads flow collections (`[[[...`) ahead of the budget's count and stops at
        // its own limit; the same number keeps "deeper than MAX_DEPTH" true for both styles.
        budget.flow_nesting_limit = MAX_DEPTH;
        budget.max_nodes = self.nodes;
        // Events are nodes plus their ends, document boundaries and alias references: four per
        // node leaves the node limit as the one that speaks.
        budget.max_events = self.nodes.saturating_mul(4);
        // A document holds at least one node, so the node limit bounds documents already; a
        // separate, smaller count is what refused generated files of a few thousand documents.
        budget.max_documents = self.nodes;
        budget.max_aliases = self.nodes;
        budget.max_anchors = self.nodes;
        budget.max_merge_keys = self.nodes;
        budget.max_recorded_anchor_events = self.nodes.saturating_mul(4);
        budget.max_total_scalar_bytes = self.scalar_bytes;
        budget.max_recorded_anchor_bytes = self.scalar_bytes;
        // The alias/anchor ratio heuristic is checked over the whole file, so ten documents that
        // each use their one anchor eleven times were refused. Expansion is bounded instead by
        // the replay limit per document and the node and byte limits of the file.
        budget.enforce_alias_anchor_ratio = false;
        let mut options = serde_saphyr::options! { with_snippet: false };
        options.budget = Some(budget);
        options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS_PER_DOCUMENT;
        options
    }
}

/// Refuses one oversized scalar while it is deserialised, before it is copied. The parser has
/// the text already (bounded by the file's size cap); this keeps the copy and every later stage
/// from handling a megabyte string.
pub(crate) fn check_scalar<E: serde::de::Error>(len: usize) -> Result<(), E> {
    if len > MAX_SCALAR_BYTES {
        Err(E::custom(format!("{SCALAR_MARKER}{len}")))
    } else {
        Ok(())
    }
}

/// What a limit breach says, and what to do about it.
struct Breach {
    message: String,
    help: String,
}

fn unwrap_error(mut error: &serde_saphyr::Error) -> &serde_saphyr::Error {
    loop {
        match error {
            serde_saphyr::Error::WithSnippet { error: inner, .. }
            | serde_saphyr::Error::AliasError { error: inner, .. } => error = inner,
            _ => return error,
        }
    }
}

fn expansion_help() -> String {
    "write out the repeated parts instead of referring to them with aliases (`*name`), or split \
     the file into several"
        .to_owned()
}

/// Nesting deeper than `MAX_DEPTH`.
fn too_deep(file: &str) -> Breach {
    Breach {
        message: format!(
            "{file} nests mappings and lists deeper than {MAX_DEPTH} levels (limit: depth \
             {MAX_DEPTH})"
        ),
        help: "flatten the structure; manifests need a few levels, and the limit is fixed \
               because deep nesting is how YAML readers are attacked"
            .to_owned(),
    }
}

/// A breach of the reader's budget (nesting, volume of nodes, events and aliases, bytes of
/// values) in words, with the limit that applies to this file.
fn budget_breach(breach: &BudgetBreach, file: &str, limits: YamlLimits) -> Breach {
    let volume = |what: &str, limit: usize| Breach {
        message: format!(
            "{file} holds more than {limit} {what} (the limit for a file of this size: one node \
             per {BYTES_PER_NODE} bytes, at least {MIN_NODES}); aliases multiply nodes"
        ),
        help: expansion_help(),
    };
    match breach {
        BudgetBreach::Depth { .. } => too_deep(file),
        BudgetBreach::Nodes { .. } => volume("YAML nodes", limits.nodes),
        BudgetBreach::Events { .. } => volume("YAML events", limits.nodes.saturating_mul(4)),
        BudgetBreach::Documents { .. } => volume("documents", limits.nodes),
        BudgetBreach::Aliases { .. } => volume("aliases", limits.nodes),
        BudgetBreach::Anchors { .. } => volume("anchors", limits.nodes),
        BudgetBreach::MergeKeys { .. } => volume("merge keys (`<<`)", limits.nodes),
        BudgetBreach::RecordedAnchorEvents { .. } => {
            volume("events under anchors", limits.nodes.saturating_mul(4))
        }
        BudgetBreach::ScalarBytes { .. } | BudgetBreach::RecordedAnchorBytes { .. } => Breach {
            message: format!(
                "the values in {file} add up to more than {} (the limit for a file of \
                 this size: twice its size, at least {}); aliases repeat values",
                human(limits.scalar_bytes as u64),
                human(MIN_SCALAR_BYTES_TOTAL as u64)
            ),
            help: expansion_help(),
        },
        BudgetBreach::AliasAnchorRatio { aliases, anchors } => Breach {
            message: format!("{file} uses {aliases} aliases for {anchors} anchors"),
            help: expansion_help(),
        },
        _ => Breach {
            message: format!("{file} exceeds a limit of the YAML reader"),
            help: "split the file into several".to_owned(),
        },
    }
}

fn describe(error: &serde_saphyr::Error, file: &str, limits: YamlLimits) -> Option<Breach> {
    match unwrap_error(error) {
        serde_saphyr::Error::ExternalMessage { source, .. } => match source.as_ref() {
            ExternalMessageSource::Parser(scan)
                if matches!(scan.kind(), ErrorKind::RecursionLimitExceeded) =>
            {
                Some(too_deep(file))
            }
            _ => None,
        },
        serde_saphyr::Error::Budget { breach, .. } => Some(budget_breach(breach, file, limits)),
        serde_saphyr::Error::AliasReplayLimitExceeded {
            max_total_replayed_events,
            ..
        } => Some(Breach {
            message: format!(
                "a document in {file} expands aliases into more than {max_total_replayed_events} \
                 nodes (limit per document: {MAX_REPLAYED_EVENTS_PER_DOCUMENT}); aliases that \
                 refer to aliases multiply"
            ),
            help: expansion_help(),
        }),
        serde_saphyr::Error::AliasReplayStackDepthExceeded { max_depth, .. } => Some(Breach {
            message: format!(
                "aliases in {file} refer to aliases more than {max_depth} levels deep (limit: \
                 {max_depth})"
            ),
            help: expansion_help(),
        }),
        serde_saphyr::Error::AliasExpansionLimitExceeded {
            max_expansions_per_anchor,
            ..
        } => Some(Breach {
            message: format!(
                "an anchor in {file} is expanded more than {max_expansions_per_anchor} times"
            ),
            help: expansion_help(),
        }),
        serde_saphyr::Error::Message { msg, .. } => {
            let len: usize = msg.strip_prefix(SCALAR_MARKER)?.parse().ok()?;
            Some(Breach {
                message: format!(
                    "a single value in {file} is {} long, over the limit of {} per value",
                    human(len as u64),
                    human(MAX_SCALAR_BYTES as u64)
                ),
                help: "no manifest field needs a value this large; keep large data (scripts, \
                       certificates) in files of their own"
                    .to_owned(),
            })
        }
        _ => None,
    }
}

/// The diagnostic for a YAML error that is a limit breach, or `None` for any other error.
/// It points at the position the parser reports, else at the start of the file.
pub(crate) fn limit_diagnostic(
    error: &serde_saphyr::Error,
    source: &SourceFile,
    file: FileId,
    limits: YamlLimits,
) -> Option<Diagnostic> {
    let breach = describe(error, source.name(), limits)?;
    let start = error
        .location()
        .and_then(|location| {
            let line = u32::try_from(location.line()).ok()?;
            let column = u32::try_from(location.column()).ok()?;
            (line > 0).then(|| source.offset(line, column))
        })
        .unwrap_or(0);
    Some(
        Diagnostic::error(codes::YAML_LIMIT)
            .with_message(breach.message)
            .with_help(breach.help)
            .with_span(Span::new(file, start, start)),
    )
}
