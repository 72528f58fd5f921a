//! The YAML reader's limits protect without getting in the way: alias bombs, deep nesting and
//! oversized values are refused (with a diagnostic naming the file, the limit and what to do),
//! while a file of 100,000 small documents, or 50 MB of ordinary manifests, loads.
//!
//! Each test prints its elapsed time and the process's peak resident memory (nextest runs every
//! test in a process of its own, so the peak is the test's). Nothing asserts on time: figures
//! belong to `cargo run --release -p dbplan-bench -- yaml-limits` (BENCHMARKS.md).

// A test fails by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use dbplan_diagnostics::{Diagnostic, Severity};
use dbplan_manifest::{Loader, ManifestSet};
use std::fmt::Write as _;
use std::time::Instant;

/// Peak resident set size of this process in KiB (VmHWM, Linux), when known.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Loads one source, printing how long it took and the peak memory so far.
fn load(case: &str, name: &str, text: String) -> (ManifestSet, Vec<Diagnostic>) {
    let bytes = text.len();
    let started = Instant::now();
    let mut loader = Loader::new();
    loader.add_source(name, text);
    let (set, diagnostics) = loader.finish();
    let elapsed = started.elapsed();
    let peak = peak_rss_kib().map_or_else(|| "unknown".to_owned(), |kib| format!("{kib} KiB"));
    println!(
        "{case}: {bytes} bytes, {} documents, {} resources, {} diagnostics in {elapsed:?}, peak RSS {peak}",
        set.documents,
        set.resources.len(),
        diagnostics.len()
    );
    (set, diagnostics)
}

fn errors(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .collect()
}

/// The one diagnostic a refused file yields: M021, pointing into the file, whose message names
/// the file and the limit and whose help says what to do.
fn assert_limit(diagnostics: &[Diagnostic], name: &str, limit_words: &str) {
    let errors = errors(diagnostics);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let diagnostic = errors[0];
    assert_eq!(diagnostic.code, "M021", "{diagnostic:#?}");
    assert_eq!(diagnostic.summary, "YAML limit exceeded");
    assert!(diagnostic.span.is_some(), "{diagnostic:#?}");
    assert!(
        diagnostic.message.contains(name),
        "the message names the file: {diagnostic:#?}"
    );
    assert!(
        diagnostic.message.contains(limit_words),
        "the message names the limit ({limit_words}): {diagnostic:#?}"
    );
    let help = diagnostic.help.as_deref().unwrap_or_default();
    assert!(!help.is_empty(), "{diagnostic:#?}");
    // The YAML reader's own debug text never reaches the user.
    let text = format!("{} {help}", diagnostic.message);
    for debug in ["budget breached", "Budget", "{ ", "dbplan-scalar-limit"] {
        assert!(!text.contains(debug), "debug text in {text}");
    }
}

/// Nine levels of nine aliases: 9^9 (387 million) strings if expanded.
#[test]
fn an_alias_bomb_is_refused() {
    let mut text = String::from(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {name: bomb}\nspec:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..=9 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 9].join(",");
        let _ = writeln!(text, "  a{level}: &a{level} [{items}]");
    }
    let (_, diagnostics) = load("alias bomb", "bomb.yaml", text);
    assert_limit(&diagnostics, "bomb.yaml", "limit");
}

/// The same bomb repeated in many small documents: each stays under the per-document replay
/// limit, so the file's node limit must stop it.
#[test]
fn many_small_alias_bombs_in_one_file_are_refused() {
    let mut document = String::from("---\na0: &a0 [x,x,x,x,x,x,x,x,x,x]\n");
    for level in 1..=5 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 10].join(",");
        let _ = writeln!(document, "a{level}: &a{level} [{items}]");
    }
    // 111,111 nodes per document, 100 documents.
    let text = document.repeat(100);
    let (_, diagnostics) = load("alias bombs in many documents", "bombs.yaml", text);
    assert_limit(&diagnostics, "bombs.yaml", "YAML nodes");
}

#[test]
fn deep_flow_nesting_is_refused() {
    let depth = 100_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let (_, diagnostics) = load("deep flow nesting", "deep.yaml", text);
    assert_limit(&diagnostics, "deep.yaml", "deeper than 64 levels");
}

#[test]
fn deep_block_nesting_is_refused() {
    let mut text = String::new();
    for level in 0..2_000 {
        let _ = writeln!(text, "{}k{level}:", "  ".repeat(level));
    }
    let (_, diagnostics) = load("deep block nesting", "deep-block.yaml", text);
    assert_limit(&diagnostics, "deep-block.yaml", "deeper than 64 levels");
}

/// Nesting that a manifest might really use (a dozen levels) is fine.
#[test]
fn moderate_nesting_is_not_a_limit() {
    let text = format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {{name: nested}}\nspec:\n  host: db\n  extra: {}1{}\n",
        "[".repeat(40),
        "]".repeat(40)
    );
    let (_, diagnostics) = load("moderate nesting", "nested.yaml", text);
    assert!(
        diagnostics
            .iter()
            .all(|diagnostic| diagnostic.code != "M021"),
        "{diagnostics:#?}"
    );
}

#[test]
fn a_huge_scalar_is_refused() {
    let text = format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {{name: big}}\nspec:\n  host: db\n  description: \"{}\"\n",
        "x".repeat(8 * 1024 * 1024)
    );
    let (_, diagnostics) = load("huge scalar", "big.yaml", text);
    assert_limit(
        &diagnostics,
        "big.yaml",
        "over the limit of 1 MiB per value",
    );
    // The position is the value's line, not the start of the file.
    let span = errors(&diagnostics)[0].span.unwrap();
    assert!(span.start > 0, "{span:?}");
}

/// A huge block scalar, whose text is assembled by the parser (no single borrowed slice).
#[test]
fn a_huge_block_scalar_is_refused() {
    let line = format!("    {}\n", "y".repeat(100));
    let text = format!(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {{name: big}}\nspec:\n  description: |\n{}",
        line.repeat(20_000)
    );
    let (_, diagnostics) = load("huge block scalar", "block.yaml", text);
    assert_limit(&diagnostics, "block.yaml", "per value");
}

/// A generated file of many manifests: the document count of serde-saphyr's default budget
/// (1,024) refused these. Unoptimised, serde-saphyr parses about 150 KB/s, so this takes about
/// 100 s in a debug build; it runs in release test runs and as a benchmark figure, and
/// `more_documents_than_the_old_default_load` checks the same at a size a debug run affords.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "about 100 s unoptimised: cargo nextest run --release -p dbplan-manifest --test yaml_limits"
)]
fn a_file_of_100_000_small_documents_loads() {
    let (set, diagnostics) = load(
        "100,000 small documents",
        "generated.yaml",
        dbplan_testkit::yaml::small_documents(100_000),
    );
    assert!(
        errors(&diagnostics).is_empty(),
        "{:#?}",
        &diagnostics[..diagnostics.len().min(3)]
    );
    assert_eq!(set.resources.len(), 100_000);
}

/// Three times serde-saphyr's default document limit, small enough for a debug run.
#[test]
fn more_documents_than_the_old_default_load() {
    let (set, diagnostics) = load(
        "3,072 small documents",
        "generated.yaml",
        dbplan_testkit::yaml::small_documents(3_072),
    );
    assert!(
        errors(&diagnostics).is_empty(),
        "{:#?}",
        &diagnostics[..diagnostics.len().min(3)]
    );
    assert_eq!(set.resources.len(), 3_072);
}

/// About 380 s in a debug build (see the 100,000-document test); release test runs and the
/// benchmark run it.
#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "about 380 s unoptimised: cargo nextest run --release -p dbplan-manifest --test yaml_limits"
)]
fn a_50_mb_file_of_ordinary_manifests_loads() {
    let text = dbplan_testkit::yaml::ordinary_manifests(50 * 1000 * 1000);
    let (set, diagnostics) = load("50 MB of ordinary manifests", "large.yaml", text);
    assert!(
        errors(&diagnostics).is_empty(),
        "{:#?}",
        &diagnostics[..diagnostics.len().min(3)]
    );
    assert!(set.resources.len() > 100_000, "{}", set.resources.len());
}

/// Aliases used the ordinary way, in every document of a long file, are not an attack: neither
/// the stream-wide alias count (50,000) nor the alias/anchor ratio (10) of serde-saphyr's
/// defaults applies any more.
#[test]
fn ordinary_aliases_in_many_documents_load() {
    let aliases: Vec<String> = (0..60).map(|index| format!("t{index}: *team")).collect();
    let aliases = aliases.join(", ");
    let mut text = String::new();
    for index in 0..1_000 {
        let _ = write!(
            text,
            "apiVersion: digital-ocean.project-planton.org/v1\nkind: DigitalOceanVpc\nmetadata:\n  name: vpc-{index}\n  labels: {{team: &team payments, {aliases}}}\nspec: {{region: nyc3}}\n---\n"
        );
    }
    let (set, diagnostics) = load("ordinary aliases", "aliases.yaml", text);
    assert!(
        errors(&diagnostics).is_empty(),
        "{:#?}",
        &diagnostics[..diagnostics.len().min(3)]
    );
    assert_eq!(set.resources.len(), 1_000);
}

/// Policy packs and anything else parsed with `parse_yaml` get the same limits.
#[test]
fn parse_yaml_reports_limits_too() {
    let mut sources = dbplan_diagnostics::SourceMap::new();
    let depth = 1_000;
    let file = sources.add(
        "pack.yaml",
        format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
    );
    let errors = dbplan_manifest::parse_yaml(&sources, file).unwrap_err();
    assert_limit(&errors, "pack.yaml", "deeper than 64 levels");
}

/// Nesting just under the limit is parsed, and does not exhaust the stack of the calling thread
/// (a 2 MiB test thread overflowed at about 50 levels of block mappings in a debug build before
/// parsing moved to a thread with a stack of its own).
#[test]
fn nesting_just_under_the_limit_does_not_exhaust_the_stack() {
    let mut text = String::from(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {name: deep}\nspec:\n  host: db\n",
    );
    for level in 0..60 {
        let _ = writeln!(text, "  {}k{level}:", "  ".repeat(level));
    }
    let (_, diagnostics) = load("nesting under the limit", "deep.yaml", text.clone());
    assert!(
        diagnostics
            .iter()
            .all(|diagnostic| diagnostic.code != "M021"),
        "{diagnostics:#?}"
    );
    let mut sources = dbplan_diagnostics::SourceMap::new();
    let file = sources.add("deep.yaml", text);
    assert!(dbplan_manifest::parse_yaml(&sources, file).is_ok());
}
