//! The vendored CRD files are the upstream files (sha256 against crds/README.md), and every one
//! loads, with every CEL rule compiled or reported as unevaluable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use dbplan_crd::Crds;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The `| file | ... | sha256 |` rows of crds/README.md.
fn readme_hashes() -> BTreeMap<String, String> {
    let path = format!("{}/crds/README.md", env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(path).unwrap();
    readme
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let file = cells.first()?.trim_matches('`');
            let hash = cells.last()?.trim_matches('`');
            (file.ends_with(".yaml") && hash.len() == 64)
                .then(|| (file.to_owned(), hash.to_owned()))
        })
        .collect()
}

#[test]
fn every_vendored_file_has_the_sha256_the_readme_names() {
    let hashes = readme_hashes();
    let dir = format!("{}/crds", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    files.sort();
    let listed: Vec<String> = hashes.keys().cloned().collect();
    assert_eq!(
        files, listed,
        "crds/ and the README's table list different files"
    );
    for (file, expected) in &hashes {
        let bytes = std::fs::read(format!("{dir}/{file}")).unwrap();
        let actual = hex::encode(Sha256::digest(&bytes));
        assert_eq!(&actual, expected, "{file} differs from the upstream file");
    }
}

#[test]
fn the_embedded_texts_are_the_vendored_files() {
    let hashes = readme_hashes();
    let embedded = Crds::embedded_files();
    assert_eq!(embedded.len(), hashes.len());
    for (file, text) in embedded {
        let actual = hex::encode(Sha256::digest(text.as_bytes()));
        assert_eq!(Some(&actual), hashes.get(*file), "{file}");
    }
}

#[test]
fn every_vendored_crd_loads_with_its_names() {
    let crds: Vec<_> = Crds::embedded()
        .iter()
        .map(|crd| {
            (
                crd.group().to_owned(),
                crd.kind().to_owned(),
                crd.plural().to_owned(),
                crd.singular().to_owned(),
                crd.versions().join(","),
                crd.namespaced(),
            )
        })
        .collect();
    let expected = [
        ("postgresql.cnpg.io", "Cluster", "clusters", "cluster"),
        (
            "postgresql.cnpg.io",
            "ScheduledBackup",
            "scheduledbackups",
            "scheduledbackup",
        ),
        ("postgresql.cnpg.io", "Database", "databases", "database"),
        ("postgresql.cnpg.io", "Pooler", "poolers", "pooler"),
        ("postgresql.cnpg.io", "Backup", "backups", "backup"),
        (
            "barmancloud.cnpg.io",
            "ObjectStore",
            "objectstores",
            "objectstore",
        ),
    ]
    .map(|(group, kind, plural, singular)| {
        (
            group.to_owned(),
            kind.to_owned(),
            plural.to_owned(),
            singular.to_owned(),
            "v1".to_owned(),
            true,
        )
    });
    assert_eq!(crds, expected);
    for crd in Crds::embedded().iter() {
        assert!(
            crd.short_names().is_empty(),
            "{} has short names now",
            crd.kind()
        );
        assert_eq!(crd.definition()["spec"]["names"]["kind"], crd.kind());
        let found = Crds::embedded().find(&format!("{}/v1", crd.group()), crd.kind());
        assert_eq!(found.map(|found| found.kind()), Some(crd.kind()));
    }
    assert!(
        Crds::embedded()
            .find("postgresql.cnpg.io/v2", "Cluster")
            .is_none()
    );
    assert!(
        Crds::embedded()
            .find("postgresql.cnpg.io/v1", "Clusters")
            .is_none()
    );
    assert!(Crds::embedded().find("v1", "Cluster").is_none());
}

#[test]
fn every_rule_compiles_or_is_reported_unevaluable() {
    let mut total = 0;
    let mut unevaluable = Vec::new();
    let mut per_kind = BTreeMap::new();
    for crd in Crds::embedded().iter() {
        let rules = crd.rules();
        per_kind.insert(crd.kind().to_owned(), rules.len());
        total += rules.len();
        for rule in rules {
            assert!(!rule.rule.is_empty(), "{} {}", crd.kind(), rule.path);
            if let Some(why) = &rule.unevaluable {
                unevaluable.push(format!("{} {} {}: {why}", crd.kind(), rule.path, rule.rule));
            }
        }
    }
    println!(
        "{total} rules, {} unevaluable: {unevaluable:#?}",
        unevaluable.len()
    );
    // Counted from the vendored files: a changed file changes these on purpose.
    let expected: BTreeMap<String, usize> = [
        ("Backup", 1),
        ("Cluster", 9),
        ("Database", 21),
        ("ObjectStore", 2),
        ("Pooler", 5),
        ("ScheduledBackup", 1),
    ]
    .map(|(kind, count)| (kind.to_owned(), count))
    .into();
    assert_eq!(per_kind, expected);
    assert_eq!(unevaluable, Vec::<String>::new());
}

#[test]
fn no_transition_rule_sits_under_a_list_item() {
    // kube-cel pairs list items with the old object's by index, where the API server pairs
    // only `map` lists' items, by key: a transition rule under a list item would need that.
    for crd in Crds::embedded().iter() {
        for rule in crd.rules() {
            assert!(
                !(rule.transition && rule.path.contains("[*]")),
                "{} {}: {}",
                crd.kind(),
                rule.path,
                rule.rule
            );
        }
    }
}

#[test]
fn every_kind_has_a_valid_documented_example() {
    for crd in Crds::embedded().iter() {
        let object = common::valid(crd.kind());
        assert_eq!(crd.validate(&object, None), vec![], "{}", crd.kind());
        assert_eq!(
            crd.validate(&object, Some(&object)),
            vec![],
            "{} as an update",
            crd.kind()
        );
    }
}
