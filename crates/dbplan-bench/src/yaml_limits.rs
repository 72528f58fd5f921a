//! `yaml-limits`: what the YAML reader's limits cost and what they stop.
//!
//! Writes five single-file inputs and loads each (`dbplan_manifest::load_paths`, as `dbplan
//! validate` does) in a fresh child process per run, printing the median wall time and the peak
//! resident memory of the run:
//!
//! - 100,000 small documents (one file of generated manifests) and 50 MB of ordinary
//!   manifests, which must load;
//! - an alias bomb ("billion laughs"), 100,000 levels of nesting and an 8 MiB value, which must
//!   be refused with M021.

use anyhow::{Context, bail};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// The cases, in the order they are printed.
const CASES: [&str; 5] = [
    "100k-documents",
    "50mb-manifests",
    "alias-bomb",
    "deep-nesting",
    "huge-scalar",
];

/// Nine levels of nine aliases: 387 million strings if expanded.
fn alias_bomb() -> String {
    let mut text = String::from(
        "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {name: bomb}\nspec:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for level in 1..=9 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 9].join(",");
        let _ = writeln!(text, "  a{level}: &a{level} [{items}]");
    }
    text
}

fn input(case: &str) -> anyhow::Result<String> {
    Ok(match case {
        "100k-documents" => dbplan_testkit::yaml::small_documents(100_000),
        "50mb-manifests" => dbplan_testkit::yaml::ordinary_manifests(50 * 1000 * 1000),
        "alias-bomb" => alias_bomb(),
        "deep-nesting" => format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
        "huge-scalar" => format!(
            "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata: {{name: big}}\nspec:\n  host: db\n  description: \"{}\"\n",
            "x".repeat(8 * 1024 * 1024)
        ),
        other => bail!("unknown yaml-limits case {other}"),
    })
}

/// One run in the child process: loads the file and prints `seconds peak_kib resources
/// first_error_code`.
pub fn run_once(file: &Path) -> anyhow::Result<()> {
    let start = std::time::Instant::now();
    let (set, diagnostics) = dbplan_manifest::load_paths(&[file.to_path_buf()]);
    let elapsed = start.elapsed().as_secs_f64();
    let code = diagnostics
        .iter()
        .find(|diagnostic| diagnostic.severity == dbplan_diagnostics::Severity::Error)
        .map_or("none", |diagnostic| diagnostic.code.as_str());
    println!(
        "{elapsed} {} {} {code}",
        super::peak_rss_kib().unwrap_or(0),
        set.resources.len()
    );
    Ok(())
}

/// Writes every case and measures `runs` loads of each.
pub fn measure(runs: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let exe = std::env::current_exe()?;
    for case in CASES {
        let file = dir.path().join(format!("{case}.yaml"));
        let text = input(case)?;
        let bytes = text.len();
        std::fs::write(&file, text)?;
        let mut times = Vec::new();
        let mut peaks = Vec::new();
        let mut outcome = String::new();
        for _ in 0..runs.max(1) {
            let output = Command::new(&exe)
                .arg("yaml-limits-once")
                .arg(&file)
                .output()?;
            if !output.status.success() {
                bail!("{case}: {}", String::from_utf8_lossy(&output.stderr));
            }
            let line = String::from_utf8_lossy(&output.stdout).trim().to_owned();
            let fields: Vec<&str> = line.split_whitespace().collect();
            times.push(fields.first().context("time")?.parse::<f64>()?);
            peaks.push(fields.get(1).context("peak")?.parse::<u64>()?);
            outcome = match fields.get(3) {
                Some(&"none") => format!("loaded {} resources", fields.get(2).unwrap_or(&"?")),
                Some(code) => format!("refused: {code}"),
                None => "?".to_owned(),
            };
        }
        times.sort_by(f64::total_cmp);
        let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
        println!(
            "{case:<16} {:>10.1} MB  median {:>9.1} ms  peak RSS {:>7.1} MiB  {outcome}",
            bytes as f64 / 1e6,
            median * 1000.0,
            peaks.iter().copied().max().unwrap_or(0) as f64 / 1024.0,
        );
        std::fs::remove_file(&file)?;
    }
    Ok(())
}
