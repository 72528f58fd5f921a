//! The crate dependency edges allowed by ARCHITECTURE.md are the only ones that exist.

use crate::root;
use std::collections::{BTreeMap, BTreeSet};

/// The "Allowed dependency edges" table of ARCHITECTURE.md: crate → crates it may depend on.
fn allowed() -> BTreeMap<String, Option<BTreeSet<String>>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let section = text
        .split("## Allowed dependency edges")
        .nth(1)
        .expect("ARCHITECTURE.md has an 'Allowed dependency edges' section");
    let mut table = BTreeMap::new();
    for line in section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [name, deps] = cells.as_slice() else {
            continue;
        };
        let name = name.trim_matches('`');
        if !name.starts_with("dbplan") {
            continue;
        }
        let deps = if *deps == "every dbplan crate" {
            None
        } else {
            Some(
                deps.split(',')
                    .map(|dep| dep.trim().trim_matches('`').to_owned())
                    .filter(|dep| dep.starts_with("dbplan"))
                    .collect(),
            )
        };
        table.insert(name.to_owned(), deps);
    }
    table
}

/// `cargo metadata` of the workspace, without dependencies.
fn cargo_metadata() -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn crate_dependencies_follow_the_architecture() {
    let metadata = cargo_metadata();
    let allowed = allowed();
    let packages = metadata["packages"].as_array().unwrap();
    let ours: BTreeSet<String> = packages
        .iter()
        .map(|package| package["name"].as_str().unwrap().to_owned())
        .collect();
    for package in packages {
        let name = package["name"].as_str().unwrap();
        let rule = allowed
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in ARCHITECTURE.md's table of allowed edges"));
        for dependency in package["dependencies"].as_array().unwrap() {
            let dependency = dependency["name"].as_str().unwrap();
            let kind = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .find(|dep| dep["name"] == dependency)
                .and_then(|dep| dep["kind"].as_str());
            if !ours.contains(dependency) || kind == Some("dev") {
                continue;
            }
            if let Some(allowed) = rule {
                assert!(
                    allowed.contains(dependency),
                    "{name} depends on {dependency}, which ARCHITECTURE.md does not allow"
                );
            }
        }
    }
}

#[test]
fn each_third_party_engine_has_one_owning_crate() {
    let metadata = cargo_metadata();
    let owners = [
        ("serde-saphyr", "dbplan-manifest"),
        ("petgraph", "dbplan-graph"),
        ("sled", "dbplan-state"),
    ];
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        for dependency in package["dependencies"].as_array().unwrap() {
            let dependency = dependency["name"].as_str().unwrap();
            for (library, owner) in owners {
                assert!(
                    dependency != library || name == owner,
                    "{name} depends on {library}; only {owner} may"
                );
            }
        }
    }
}
