//! `dbplan state list | show | rm | unlock | check | restore | export | import` against a real
//! sled store, and the state's integrity through every command that reads or writes it.

use crate::apply::{Lab, Tenant};
use crate::{dbplan, stderr, stdout};
use dbplan_state::{LockInfo, ResourceState, SledStore, StateLock, StateStore, StateValue};
use dbplan_testkit::SUPERUSER_PASSWORD;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;

fn seeded_state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), "test").unwrap();
    let mut database = ResourceState::new("TenantDatabase/billing/database".parse().unwrap());
    database.provider_id = Some("billing".into());
    database.lifecycle.deletion_protection = true;
    database
        .attributes
        .insert("owner".into(), StateValue::plain("billing_app"));
    let mut role = ResourceState::new("TenantDatabase/billing/role".parse().unwrap());
    role.outputs.insert(
        "password".into(),
        StateValue::sensitive("canary-5b7e-role-password"),
    );
    role.status = dbplan_state::Status::Pending;
    store.put(&database).unwrap();
    store.put(&role).unwrap();
    dir
}

#[test]
fn list_show_and_rm() {
    let dir = seeded_state();
    let state = dir.path().to_string_lossy().into_owned();
    let output = dbplan(&["state", "list", "--state", &state]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "TenantDatabase/billing/database\nTenantDatabase/billing/role (pending)\n"
    );
    assert!(stderr(&output).contains("serial 2"));

    let output = dbplan(&[
        "state",
        "show",
        "TenantDatabase/billing/role",
        "--state",
        &state,
    ]);
    assert_eq!(output.status.code(), Some(0));
    let shown = stdout(&output);
    assert!(shown.contains("password = (sensitive)"), "{shown}");
    assert!(
        !shown.contains("canary"),
        "a secret is never shown:\n{shown}"
    );

    let output = dbplan(&[
        "state",
        "rm",
        "TenantDatabase/billing/role",
        "--state",
        &state,
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stderr(&output).contains("the object itself was not touched"));
    let output = dbplan(&[
        "state",
        "rm",
        "TenantDatabase/billing/role",
        "--state",
        &state,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&dbplan(&["state", "list", "--state", &state]))
            .lines()
            .count()
            == 1
    );
}

#[test]
fn the_state_location_comes_from_the_environment_too() {
    let dir = seeded_state();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"))
        .args(["state", "list"])
        .env("DBPLAN_STATE", dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("TenantDatabase/billing/database"));
}

#[test]
fn a_held_lock_names_its_holder_and_a_stale_one_is_removed_by_unlock() {
    let dir = seeded_state();
    let state = dir.path().to_string_lossy().into_owned();
    {
        let _held = SledStore::open(dir.path(), "dbplan apply").unwrap();
        let output = dbplan(&["state", "list", "--state", &state]);
        assert_eq!(output.status.code(), Some(1));
        let text = stderr(&output);
        assert!(
            text.contains("locked by `dbplan apply`")
                && text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        let output = dbplan(&["state", "unlock", "--state", &state]);
        assert_eq!(output.status.code(), Some(1), "a live lock needs --force");
        assert!(stderr(&output).contains("--force"));
    }
    // A lock left by a process that is gone.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let mut info = LockInfo::current("dbplan apply");
    info.pid = child.id();
    child.wait().unwrap();
    std::fs::write(
        StateLock::path_in(dir.path()),
        serde_json::to_string(&info).unwrap(),
    )
    .unwrap();
    let output = dbplan(&["state", "list", "--state", &state]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("stale lock") && stderr(&output).contains("dbplan state unlock"),
        "{}",
        stderr(&output)
    );
    let output = dbplan(&["state", "unlock", "--state", &state]);
    assert_eq!(output.status.code(), Some(0));
    assert!(
        stderr(&output).contains("removing the stale lock of `dbplan apply`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        dbplan(&["state", "list", "--state", &state]).status.code(),
        Some(0)
    );
}

#[test]
fn no_state_yet_is_not_an_error_for_list() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here");
    let output = dbplan(&["state", "list", "--state", &missing.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(!missing.exists(), "list creates nothing");
}

// The integrity layer through the CLI: damage is reported and never read as an older or empty
// state, `state check | restore | export | import`, backups, authenticated plan files and
// symlinks. The states are written by real applies to a PostgreSQL server the test starts
// (tests/cli/apply.rs's `Lab`).

/// Runs `dbplan` in the lab, with the default number of backups.
fn lab_run(lab: &Lab, args: &[&str]) -> Output {
    lab.command(args)
        .env_remove("DBPLAN_STATE_BACKUPS")
        .output()
        .unwrap()
}

fn both(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

fn expect_code(output: &Output, code: i32, what: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "{what}: unexpected exit code\n{}",
        both(output)
    );
}

/// Writes the lab's manifests (the server and these tenants) to `file`.
fn manifests_in(lab: &Lab, file: &str, tenants: &[&str]) {
    let tenants: Vec<Tenant> = tenants.iter().map(|name| Tenant::new(name)).collect();
    lab.manifests(&tenants);
    if file != "tenants.yaml" {
        std::fs::rename(lab.path("tenants.yaml"), lab.path(file)).unwrap();
    }
}

fn apply_ok(lab: &Lab, manifests: &str, state: &str) {
    let output = lab_run(
        lab,
        &["apply", manifests, "--auto-approve", "--state", state],
    );
    expect_code(&output, 0, &format!("apply {manifests} --state {state}"));
}

/// `state list`'s addresses (stdout) and its lineage and serial (from its stderr line
/// `N resources in DIR (lineage L, serial S)`).
fn listed(lab: &Lab, state: &str) -> (String, String, u64) {
    let output = lab_run(lab, &["state", "list", "--state", state]);
    expect_code(&output, 0, &format!("state list --state {state}"));
    let line = stderr(&output);
    let lineage = line
        .split("(lineage ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no lineage in {line:?}"))
        .to_owned();
    let serial = line
        .split("serial ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|digits| digits.trim().parse().ok())
        .unwrap_or_else(|| panic!("no serial in {line:?}"));
    (stdout(&output), lineage, serial)
}

/// One entry of a directory tree, for byte-for-byte comparisons.
#[derive(Clone, PartialEq, Eq)]
enum Entry {
    Directory,
    File(Vec<u8>),
    Link(PathBuf),
}

/// Everything below `directory` except its lock file, by relative path.
fn tree(directory: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, path: &Path, into: &mut BTreeMap<PathBuf, Entry>) {
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap();
            let relative = entry.path().strip_prefix(root).unwrap().to_path_buf();
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                into.insert(
                    relative,
                    Entry::Link(std::fs::read_link(entry.path()).unwrap()),
                );
            } else if kind.is_dir() {
                into.insert(relative, Entry::Directory);
                walk(root, &entry.path(), into);
            } else {
                into.insert(relative, Entry::File(std::fs::read(entry.path()).unwrap()));
            }
        }
    }
    let mut entries = BTreeMap::new();
    walk(directory, directory, &mut entries);
    entries.remove(Path::new("dbplan.lock"));
    entries
}

/// Fails when anything below the state directory differs from `before` (lock file aside).
fn assert_unchanged(directory: &Path, before: &BTreeMap<PathBuf, Entry>, what: &str) {
    let after = tree(directory);
    let differing: Vec<String> = before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|path| before.get(*path) != after.get(*path))
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        differing.is_empty(),
        "{what} changed the state directory {}: {differing:?}",
        directory.display()
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The sled snapshots (`db/snap.*`) of a state.
fn sled_snapshots(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state.join("db"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("snap.")
        })
        .collect()
}

/// How much of sled's log file has been written: up to its last non-zero byte (sled extends
/// the file to a whole segment of zeros).
fn written(log: &Path) -> usize {
    let bytes = std::fs::read(log).unwrap();
    bytes
        .iter()
        .rposition(|byte| *byte != 0)
        .map_or(0, |last| last + 1)
}

/// A way to damage a state directory. Offsets in `db/db` are fractions of its written part
/// (`1.0`: its last written byte).
#[derive(Clone, Copy, Debug)]
enum Damage {
    /// `db/db` cut at this fraction of its written part (0: emptied; 1: all but the last byte).
    Truncate(f64),
    /// One byte of `db/db` inverted, at this fraction of what the last run wrote (sled
    /// re-reads all of it when it opens; bytes before a sled snapshot may be stale copies).
    Flip(f64),
    /// `db/db` overwritten with pseudo-random bytes.
    Garbage,
    /// One byte of sled's snapshot inverted.
    FlipSnapshot,
    /// `head.json` removed.
    NoHead,
    /// `db/` removed.
    NoDatabase,
    /// Everything in `db/` removed.
    EmptyDatabase,
}

impl Damage {
    /// `last_run_from`: where in `db/db` the last run's writes begin.
    fn apply_to(self, state: &Path, last_run_from: usize) {
        let log = state.join("db/db");
        let end = written(&log);
        let at = |fraction: f64, from: usize| {
            (from + ((end - from) as f64 * fraction) as usize).min(end - 1)
        };
        match self {
            Damage::Truncate(fraction) => {
                let length = if fraction == 0.0 { 0 } else { at(fraction, 0) };
                let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
                file.set_len(length as u64).unwrap();
            }
            Damage::Flip(fraction) => {
                let mut bytes = std::fs::read(&log).unwrap();
                bytes[at(fraction, last_run_from)] ^= 0xff;
                std::fs::write(&log, bytes).unwrap();
            }
            Damage::Garbage => {
                let length = std::fs::metadata(&log).unwrap().len() as usize;
                let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
                let bytes: Vec<u8> = (0..length)
                    .map(|_| {
                        seed = seed
                            .wrapping_mul(6_364_136_223_846_793_005)
                            .wrapping_add(1_442_695_040_888_963_407);
                        (seed >> 56) as u8
                    })
                    .collect();
                std::fs::write(&log, bytes).unwrap();
            }
            Damage::FlipSnapshot => {
                let snapshot = sled_snapshots(state).pop().expect("a sled snapshot");
                let mut bytes = std::fs::read(&snapshot).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0xff;
                std::fs::write(&snapshot, bytes).unwrap();
            }
            Damage::NoHead => std::fs::remove_file(state.join("head.json")).unwrap(),
            Damage::NoDatabase => std::fs::remove_dir_all(state.join("db")).unwrap(),
            Damage::EmptyDatabase => {
                for entry in std::fs::read_dir(state.join("db")).unwrap() {
                    let path = entry.unwrap().path();
                    if path.is_dir() {
                        std::fs::remove_dir_all(&path).unwrap();
                    } else {
                        std::fs::remove_file(&path).unwrap();
                    }
                }
            }
        }
    }
}

/// Says that a command refused a damaged state the way every command must.
fn assert_refused_as_damaged(output: &Output, what: &str) {
    expect_code(output, 1, what);
    let text = stderr(output);
    assert!(
        text.contains("is damaged: ")
            && text.contains("Nothing was changed")
            && text.contains("`dbplan state check`")
            && text.contains("`dbplan state restore`"),
        "{what}: the damage is not reported as such:\n{}",
        both(output)
    );
    // sled may panic on a damaged database; the store turns that into the damage above, and
    // the user sees no Rust panic message.
    assert!(
        !text.contains("panicked"),
        "{what}: a panic message was printed:\n{}",
        both(output)
    );
}

/// A damaged state is refused by every command that reads or writes it, with the damage named
/// and the way out (`state check`, `state restore`), and nothing in it changes: sled only ever
/// recovers a copy. Both with and without a sled snapshot (sled writes one when it reopens a
/// database whose log moved on: a state written by two apply runs has one, by one run none).
#[test]
fn a_damaged_state_is_refused_by_every_command_and_left_as_it_was() {
    let lab = Lab::start();
    // One run: a1, a2 in one apply.
    manifests_in(&lab, "one.yaml", &["a1", "a2"]);
    apply_ok(&lab, "one.yaml", "one");
    // Two runs: b1, then b2.
    manifests_in(&lab, "two.yaml", &["b1"]);
    apply_ok(&lab, "two.yaml", "two");
    let first_run_end = written(&lab.path("two/db/db"));
    manifests_in(&lab, "two.yaml", &["b1", "b2"]);
    apply_ok(&lab, "two.yaml", "two");
    // Manifests with one tenant more, and plans saved for them while the states were good:
    // had a damaged state been read as empty or older, applying either would create objects.
    manifests_in(&lab, "one-more.yaml", &["a1", "a2", "a3"]);
    manifests_in(&lab, "two-more.yaml", &["b1", "b2", "b3"]);
    for name in ["one", "two"] {
        let output = lab_run(
            &lab,
            &[
                "plan",
                &format!("{name}-more.yaml"),
                "--state",
                name,
                "--out",
                &format!("{name}.plan"),
            ],
        );
        expect_code(&output, 0, "plan --out on a good state");
    }
    assert!(
        sled_snapshots(&lab.path("one")).is_empty(),
        "a state written by one run (and read since) has no sled snapshot"
    );
    assert_eq!(
        sled_snapshots(&lab.path("two")).len(),
        1,
        "a state written by two runs has a sled snapshot"
    );
    let databases = lab.databases();
    let roles = lab.roles();

    let mut damages = vec![
        Damage::Truncate(0.0),
        Damage::Truncate(0.5),
        Damage::Truncate(1.0),
        Damage::Flip(0.3),
        Damage::Flip(1.0),
        Damage::Garbage,
        Damage::NoHead,
        Damage::NoDatabase,
        Damage::EmptyDatabase,
    ];
    let mut refusals = 0;
    for (template, last_run_from) in [("one", 0), ("two", first_run_end)] {
        if template == "two" {
            damages.push(Damage::FlipSnapshot);
        }
        let (addresses, _, _) = listed(&lab, template);
        let address = addresses.lines().next().unwrap().to_owned();
        let manifests = format!("{template}-more.yaml");
        let plan = format!("{template}.plan");
        for (index, damage) in damages.iter().enumerate() {
            let name = format!("damaged-{template}-{index}");
            let state = lab.path(&name);
            copy_tree(&lab.path(template), &state);
            damage.apply_to(&state, last_run_from);
            let before = tree(&state);
            let commands: [Vec<&str>; 7] = [
                vec!["plan", &manifests],
                vec!["plan", &manifests, "--detailed-exitcode", "--offline"],
                vec!["apply", &plan],
                vec!["apply", &manifests, "--auto-approve"],
                vec!["state", "list"],
                vec!["state", "show", &address],
                vec!["output"],
            ];
            for mut command in commands {
                command.extend(["--state", &name]);
                let what = format!("{damage:?} of {template}: dbplan {}", command.join(" "));
                assert_refused_as_damaged(&lab_run(&lab, &command), &what);
                assert_unchanged(&state, &before, &what);
                refusals += 1;
            }
            // `state check` says so too, and `show` shows the plan with the damage as a
            // warning; neither changes anything.
            let checked = lab_run(&lab, &["state", "check", "--state", &name]);
            expect_code(
                &checked,
                1,
                &format!("{damage:?} of {template}: state check"),
            );
            assert!(
                stdout(&checked).contains("state: DAMAGED: "),
                "{}",
                both(&checked)
            );
            assert_unchanged(&state, &before, "state check");
            let shown = lab_run(&lab, &["show", &plan, "--state", &name]);
            assert!(stderr(&shown).contains("is damaged"), "{}", both(&shown));
            assert_unchanged(&state, &before, "show");
        }
    }
    assert_eq!(refusals, 7 * (9 + 10));
    // Nothing was created: no damaged state was read as an empty or older one.
    assert_eq!(lab.databases(), databases);
    assert_eq!(lab.roles(), roles);
    // The same saved plans apply to undamaged copies: the refusals were the damage's doing.
    for template in ["one", "two"] {
        let name = format!("good-{template}");
        copy_tree(&lab.path(template), &lab.path(&name));
        let output = lab_run(
            &lab,
            &["apply", &format!("{template}.plan"), "--state", &name],
        );
        expect_code(&output, 0, "a saved plan applied to a good copy");
    }
    assert_eq!(lab.databases().len(), databases.len() + 2);
}

/// The `db.replaced-*` directories `state restore` and `state import` leave in a state.
fn replaced(state: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(state)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("db.replaced-")
        })
        .collect()
}

/// `state check` finds the damage; `state restore` brings back the newest good backup, keeps
/// the damaged database aside and moves the serial above any seen (plans made before are
/// stale); the restored state is complete: every resource, and a plan finds nothing to do.
#[test]
fn check_finds_damage_and_restore_brings_every_resource_back() {
    let lab = Lab::start();
    manifests_in(&lab, "r.yaml", &["r1", "r2"]);
    apply_ok(&lab, "r.yaml", "state");
    let (addresses, lineage, serial) = listed(&lab, "state");
    assert_eq!(addresses.lines().count(), 7, "{addresses}");
    let checked = lab_run(&lab, &["state", "check"]);
    expect_code(&checked, 0, "state check of a good state");
    assert!(
        stdout(&checked).contains(&format!(
            "state: good (lineage {lineage}, serial {serial}, 7 resources)"
        )) && stdout(&checked).contains(&format!("backup serial {serial}: good")),
        "{}",
        both(&checked)
    );
    manifests_in(&lab, "more.yaml", &["r1", "r2", "r3"]);
    let saved = lab_run(&lab, &["plan", "more.yaml", "--out", "before.plan"]);
    expect_code(&saved, 0, "plan --out");

    Damage::Truncate(0.5).apply_to(&lab.path("state"), 0);
    let checked = lab_run(&lab, &["state", "check"]);
    expect_code(&checked, 1, "state check of a damaged state");
    assert!(
        stdout(&checked).contains("state: DAMAGED: ")
            && stdout(&checked).contains(&format!("backup serial {serial}: good"))
            && stderr(&checked).contains("dbplan state restore"),
        "{}",
        both(&checked)
    );
    assert_refused_as_damaged(&lab_run(&lab, &["state", "list"]), "state list");

    let restored = lab_run(&lab, &["state", "restore"]);
    expect_code(&restored, 0, "state restore");
    assert!(
        stderr(&restored).contains(&format!("restored the backup of serial {serial}")),
        "{}",
        both(&restored)
    );
    let aside = replaced(&lab.path("state"));
    assert_eq!(aside.len(), 1, "the damaged database is kept: {aside:?}");
    assert!(aside[0].join("db").is_file(), "{aside:?}");
    let (again, again_lineage, again_serial) = listed(&lab, "state");
    assert_eq!(again, addresses, "every resource is back");
    assert_eq!(again_lineage, lineage);
    assert_eq!(
        again_serial,
        serial + 1,
        "one above the highest serial seen"
    );
    expect_code(
        &lab_run(&lab, &["state", "check"]),
        0,
        "state check after restore",
    );
    let planned = lab_run(&lab, &["plan", "r.yaml", "--detailed-exitcode"]);
    expect_code(&planned, 0, "plan after restore (no changes)");
    // A plan made before the restore is stale.
    let stale = lab_run(&lab, &["apply", "before.plan"]);
    expect_code(&stale, 1, "apply of a plan made before the restore");
    assert!(stderr(&stale).contains("stale"), "{}", both(&stale));
    assert_eq!(lab.databases(), ["r1", "r2"]);

    // head.json and every backup gone: the intact database is refused as it is (nothing
    // vouches that no record was lost), restore finds no backup and says the database
    // verifies on its own, and `--from-database` takes it.
    let state = lab.path("state");
    std::fs::remove_file(state.join("head.json")).unwrap();
    std::fs::remove_dir_all(state.join("backups")).unwrap();
    assert_refused_as_damaged(
        &lab_run(&lab, &["state", "list"]),
        "state list without head",
    );
    let restored = lab_run(&lab, &["state", "restore"]);
    expect_code(&restored, 1, "state restore without backups");
    assert!(
        stderr(&restored).contains("no good backup")
            && stderr(&restored).contains("--from-database")
            && stderr(&restored).contains(&format!("serial {again_serial}, 7 resources")),
        "{}",
        both(&restored)
    );
    let chose = lab_run(&lab, &["state", "restore", "3", "--from-database"]);
    expect_code(&chose, 1, "--from-database with a serial");
    let restored = lab_run(&lab, &["state", "restore", "--from-database"]);
    expect_code(&restored, 0, "state restore --from-database");
    assert!(
        stderr(&restored).contains("restored the state from its own database")
            && stderr(&restored).contains("cannot be ruled out lost"),
        "{}",
        both(&restored)
    );
    let (recovered, recovered_lineage, recovered_serial) = listed(&lab, "state");
    assert_eq!(recovered, addresses, "every resource is back");
    assert_eq!(recovered_lineage, lineage);
    assert_eq!(recovered_serial, again_serial + 1);
    expect_code(
        &lab_run(&lab, &["state", "check"]),
        0,
        "state check after restore --from-database",
    );
    expect_code(
        &lab_run(&lab, &["plan", "r.yaml", "--detailed-exitcode"]),
        0,
        "plan after restore --from-database (no changes)",
    );

    // A damaged database does not vouch for itself.
    std::fs::remove_file(state.join("head.json")).unwrap();
    std::fs::remove_dir_all(state.join("backups")).unwrap();
    Damage::Garbage.apply_to(&state, 0);
    let refused = lab_run(&lab, &["state", "restore", "--from-database"]);
    expect_code(&refused, 1, "restore --from-database of a damaged database");
    assert!(stderr(&refused).contains("damaged"), "{}", both(&refused));
}

/// The backups of the lab's default state: (serial, mode), oldest first.
fn backups(lab: &Lab) -> Vec<(u64, u32)> {
    let folder = lab.path("state/backups");
    let mode = std::fs::metadata(&folder).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "the backups directory is private");
    let mut found: Vec<(u64, u32)> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let serial = name
                .strip_prefix("state-")
                .and_then(|rest| rest.strip_suffix(".json"))
                .filter(|digits| digits.len() == 20)
                .and_then(|digits| digits.parse().ok())
                .unwrap_or_else(|| panic!("not a backup name: {name}"));
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            (serial, mode)
        })
        .collect();
    found.sort_unstable();
    found
}

/// Every command that changes the state leaves a checksummed backup of it (0600); the newest
/// ten are kept, or `DBPLAN_STATE_BACKUPS`.
#[test]
fn every_change_leaves_a_private_backup_and_only_the_newest_are_kept() {
    let lab = Lab::start();
    let mut tenant = Tenant::new("bk");
    for applies in 1..=12_usize {
        // Each apply changes something: the role's connection limit.
        tenant.connection_limit = Some(applies as i32);
        lab.manifests(std::slice::from_ref(&tenant));
        apply_ok(&lab, "tenants.yaml", "state");
        let (_, _, serial) = listed(&lab, "state");
        let found = backups(&lab);
        assert_eq!(
            found.len(),
            applies.min(10),
            "after {applies} applies: {found:?}"
        );
        assert_eq!(
            found.last().unwrap().0,
            serial,
            "the newest is the state's serial"
        );
        assert!(
            found.iter().all(|(_, mode)| *mode == 0o600),
            "backups are 0600: {found:?}"
        );
    }
    tenant.connection_limit = Some(99);
    lab.manifests(std::slice::from_ref(&tenant));
    let applied = lab
        .command(&["apply", "tenants.yaml", "--auto-approve"])
        .env("DBPLAN_STATE_BACKUPS", "2")
        .output()
        .unwrap();
    expect_code(&applied, 0, "apply with DBPLAN_STATE_BACKUPS=2");
    let (_, _, serial) = listed(&lab, "state");
    let found = backups(&lab);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found.last().unwrap().0, serial);

    let removed = lab_run(
        &lab,
        &["state", "rm", "TenantDatabase/bk/connection-secret"],
    );
    expect_code(&removed, 0, "state rm");
    let (_, _, after_rm) = listed(&lab, "state");
    assert_eq!(after_rm, serial + 1);
    let found = backups(&lab);
    assert_eq!(found.len(), 3, "state rm leaves a backup: {found:?}");
    assert_eq!(found.last().unwrap().0, after_rm);

    // A count below one is refused, and the state stays as it was (sled may have
    // rewritten its own snapshot: `state rm` opened the store before reading the variable).
    let outside_sled = |entries: BTreeMap<PathBuf, Entry>| -> BTreeMap<PathBuf, Entry> {
        entries
            .into_iter()
            .filter(|(path, _)| !path.starts_with("db"))
            .collect()
    };
    let before = outside_sled(tree(&lab.path("state")));
    let refused = lab
        .command(&["state", "rm", "TenantDatabase/bk/role"])
        .env("DBPLAN_STATE_BACKUPS", "0")
        .output()
        .unwrap();
    expect_code(&refused, 1, "DBPLAN_STATE_BACKUPS=0");
    assert!(
        stderr(&refused).contains("DBPLAN_STATE_BACKUPS"),
        "{}",
        both(&refused)
    );
    assert!(
        outside_sled(tree(&lab.path("state"))) == before,
        "a refused state rm changed the head or the backups"
    );
    assert_eq!(listed(&lab, "state").2, after_rm);
    let checked = lab_run(&lab, &["state", "check"]);
    expect_code(&checked, 0, "state check");
    assert_eq!(
        stdout(&checked)
            .lines()
            .filter(|line| line.starts_with("backup serial ") && line.ends_with(": good"))
            .count(),
        3,
        "{}",
        both(&checked)
    );
}

/// The `DB_PASSWORD` of a tenant's env connection secret.
fn generated_password(lab: &Lab, tenant: &str) -> String {
    let password = lab
        .env_secret(tenant)
        .into_iter()
        .find(|(key, _)| key == "DB_PASSWORD")
        .map(|(_, value)| value)
        .unwrap();
    assert_eq!(password.len(), 32);
    password
}

/// `state export --out` writes the whole state (0600) with its lineage and serial, and it
/// imports into a fresh directory as the same state; an export printed to stdout has no
/// secret and cannot be imported; an import of another state, or of one that is not newer,
/// is refused without --force.
#[test]
fn an_export_imports_as_the_same_state_and_a_printed_one_holds_no_secret() {
    let lab = Lab::start();
    manifests_in(&lab, "tenants.yaml", &["ex1", "ex2"]);
    apply_ok(&lab, "tenants.yaml", "state");
    let passwords = [
        generated_password(&lab, "ex1"),
        generated_password(&lab, "ex2"),
    ];
    let (addresses, lineage, serial) = listed(&lab, "state");

    let exported = lab_run(&lab, &["state", "export", "--out", "f.json"]);
    expect_code(&exported, 0, "state export --out");
    let mode = std::fs::metadata(lab.path("f.json"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let full = std::fs::read_to_string(lab.path("f.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&full).unwrap();
    assert_eq!(json["state"]["lineage"], lineage.as_str());
    assert_eq!(json["state"]["serial"], serial);
    assert!(
        full.contains(&passwords[0]),
        "a full export holds the state's secrets (the scan below can find them)"
    );

    let imported = lab_run(&lab, &["state", "import", "f.json", "--state", "imported"]);
    expect_code(&imported, 0, "state import into a fresh directory");
    assert_eq!(
        listed(&lab, "imported"),
        (addresses.clone(), lineage.clone(), serial)
    );
    expect_code(
        &lab_run(&lab, &["state", "check", "--state", "imported"]),
        0,
        "state check of the import",
    );
    let planned = lab_run(
        &lab,
        &[
            "plan",
            "tenants.yaml",
            "--detailed-exitcode",
            "--state",
            "imported",
        ],
    );
    expect_code(&planned, 0, "plan against the import (no changes)");

    let printed = lab_run(&lab, &["state", "export"]);
    expect_code(&printed, 0, "state export to stdout");
    let shown = both(&printed);
    for secret in passwords
        .iter()
        .map(String::as_str)
        .chain([SUPERUSER_PASSWORD])
    {
        assert!(!shown.contains(secret), "a secret was printed:\n{shown}");
    }
    assert!(stdout(&printed).contains("(sensitive)"));
    let json: serde_json::Value = serde_json::from_str(&stdout(&printed)).unwrap();
    assert_eq!(json["state"]["redacted"], true);
    assert!(
        json["state"].get("key").is_none(),
        "no key in a printed export"
    );
    assert_eq!(json["state"]["lineage"], lineage.as_str());
    assert_eq!(json["state"]["serial"], serial);
    std::fs::write(lab.path("printed.json"), stdout(&printed)).unwrap();
    let refused = lab_run(
        &lab,
        &["state", "import", "printed.json", "--state", "fresh"],
    );
    expect_code(&refused, 1, "import of a printed export");
    assert!(stderr(&refused).contains("redacted"), "{}", both(&refused));
    assert!(!lab.path("fresh").exists(), "nothing was created");

    // Not newer: the export back into the state it came from.
    let before = tree(&lab.path("state"));
    let refused = lab_run(&lab, &["state", "import", "f.json"]);
    expect_code(&refused, 1, "import of a serial that is not newer");
    assert!(stderr(&refused).contains("not newer"), "{}", both(&refused));
    assert_unchanged(&lab.path("state"), &before, "a refused import");

    // Another lineage: refused, then replaced with --force (the database kept aside).
    manifests_in(&lab, "other.yaml", &["ox1"]);
    apply_ok(&lab, "other.yaml", "other");
    let (_, other_lineage, _) = listed(&lab, "other");
    assert_ne!(other_lineage, lineage);
    let before = tree(&lab.path("other"));
    let refused = lab_run(&lab, &["state", "import", "f.json", "--state", "other"]);
    expect_code(&refused, 1, "import of another lineage");
    let text = stderr(&refused);
    assert!(
        text.contains(&other_lineage) && text.contains(&lineage) && text.contains("--force"),
        "{text}"
    );
    assert_unchanged(&lab.path("other"), &before, "a refused import");
    let forced = lab_run(
        &lab,
        &["state", "import", "f.json", "--state", "other", "--force"],
    );
    expect_code(&forced, 0, "import --force");
    assert_eq!(listed(&lab, "other"), (addresses, lineage, serial));
    assert_eq!(replaced(&lab.path("other")).len(), 1);
}

pub(crate) fn sha256(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let digest = stdout(&output);
    format!("sha256:{}", digest.split_whitespace().next().unwrap())
}

/// A saved plan is authenticated with the state's key: edited, even with its checksum
/// recomputed, `apply` and `show` refuse it and nothing is applied; a file of an older dbplan
/// (version 1) is refused too; the file as written applies.
#[test]
fn an_edited_plan_file_is_refused_even_with_a_recomputed_checksum() {
    let lab = Lab::start();
    manifests_in(&lab, "tenants.yaml", &["sp1"]);
    expect_code(
        &lab_run(&lab, &["plan", "tenants.yaml", "--out", "p.plan"]),
        0,
        "plan --out",
    );
    let (_, _, serial) = listed(&lab, "state");
    let original: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path("p.plan")).unwrap()).unwrap();
    assert_eq!(original["file_version"], 2);
    // The checksum is the SHA-256 of the plan's compact JSON, so an editor can recompute it.
    assert_eq!(
        original["checksum"],
        sha256(&original["plan"].to_string()).as_str()
    );

    let mut edited = original.clone();
    let role = edited["plan"]["resource_changes"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|change| change["address"] == "TenantDatabase/sp1/role")
        .unwrap();
    assert_eq!(role["after"]["name"], "sp1_user");
    role["after"]["name"] = "intruder_user".into();
    edited["checksum"] = sha256(&edited["plan"].to_string()).into();
    std::fs::write(
        lab.path("edited.plan"),
        serde_json::to_string_pretty(&edited).unwrap(),
    )
    .unwrap();
    let applied = lab_run(&lab, &["apply", "edited.plan"]);
    expect_code(&applied, 1, "apply of an edited plan");
    assert!(
        stderr(&applied).contains("not authenticated") && !stderr(&applied).contains("checksum"),
        "{}",
        both(&applied)
    );
    assert!(lab.roles().is_empty() && lab.databases().is_empty());
    assert_eq!(listed(&lab, "state").2, serial, "nothing was written");
    let shown = lab_run(&lab, &["show", "edited.plan"]);
    expect_code(&shown, 1, "show of an edited plan");
    assert!(
        stderr(&shown).contains("not authenticated"),
        "{}",
        both(&shown)
    );

    let mut older = original.clone();
    older["file_version"] = 1.into();
    std::fs::write(
        lab.path("older.plan"),
        serde_json::to_string_pretty(&older).unwrap(),
    )
    .unwrap();
    let applied = lab_run(&lab, &["apply", "older.plan"]);
    expect_code(&applied, 1, "apply of a version 1 plan");
    assert!(
        stderr(&applied).contains("older dbplan"),
        "{}",
        both(&applied)
    );
    assert!(lab.roles().is_empty() && lab.databases().is_empty());
    assert_eq!(listed(&lab, "state").2, serial, "nothing was written");

    // Against a state location that holds no state, the plan is refused as made elsewhere,
    // and nothing is created there.
    let elsewhere = lab_run(&lab, &["apply", "p.plan", "--state", "elsewhere"]);
    expect_code(&elsewhere, 1, "apply of a plan against no state");
    assert!(
        stderr(&elsewhere).contains("there is no state at")
            && stderr(&elsewhere).contains("--state")
            && !stderr(&elsewhere).contains("stale"),
        "{}",
        both(&elsewhere)
    );
    assert!(!lab.path("elsewhere").exists(), "no state was created");
    assert!(lab.roles().is_empty() && lab.databases().is_empty());

    // The file as `plan --out` wrote it applies.
    expect_code(
        &lab_run(&lab, &["apply", "p.plan"]),
        0,
        "apply of the plan as written",
    );
    assert_eq!(lab.roles(), ["sp1_user"]);
}

/// Directories 0700 and files 0600, from `directory` down.
fn assert_private(directory: &Path) {
    let metadata = std::fs::symlink_metadata(directory).unwrap();
    let mode = metadata.permissions().mode() & 0o777;
    if metadata.is_dir() {
        assert_eq!(mode, 0o700, "{} is not 0700", directory.display());
        for entry in std::fs::read_dir(directory).unwrap() {
            assert_private(&entry.unwrap().path());
        }
    } else {
        assert!(metadata.is_file(), "{} is a link", directory.display());
        assert_eq!(mode, 0o600, "{} is not 0600", directory.display());
    }
}

/// `--state` through a link makes the real directory private; a dangling link is refused and
/// nothing is created; `plan --out` never writes through a link at its path or at a temporary
/// name next to it.
#[test]
fn links_are_never_followed_into_another_file_and_a_linked_state_is_private() {
    let lab = Lab::start();
    let real = lab.path("real");
    std::fs::create_dir(&real).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&real, lab.path("linked")).unwrap();
    manifests_in(&lab, "tenants.yaml", &["ln1"]);
    apply_ok(&lab, "tenants.yaml", "linked");
    assert_private(&real);
    // A second run, which has sled write a snapshot: private too.
    manifests_in(&lab, "tenants.yaml", &["ln1", "ln2"]);
    apply_ok(&lab, "tenants.yaml", "linked");
    assert_eq!(sled_snapshots(&real).len(), 1);
    assert_private(&real);
    assert!(
        std::fs::symlink_metadata(lab.path("linked"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(listed(&lab, "linked").0.lines().count(), 7);

    std::os::unix::fs::symlink(lab.path("nowhere"), lab.path("dangling")).unwrap();
    for command in [
        vec![
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--state",
            "dangling",
        ],
        vec![
            "plan",
            "tenants.yaml",
            "--out",
            "dangling.plan",
            "--state",
            "dangling",
        ],
    ] {
        let output = lab_run(&lab, &command);
        expect_code(&output, 1, &command.join(" "));
        assert!(
            stderr(&output).contains("dangling")
                && stderr(&output).contains("a link that cannot be followed"),
            "{}",
            both(&output)
        );
        assert!(
            !lab.path("nowhere").exists(),
            "{}: created",
            command.join(" ")
        );
        assert!(!lab.path("dangling.plan").exists());
    }
    lab_run(&lab, &["state", "list", "--state", "dangling"]);
    assert!(!lab.path("nowhere").exists(), "state list created it");

    let victim = lab.path("victim");
    std::fs::write(&victim, "the victim's own text\n").unwrap();
    std::fs::create_dir(lab.path("out")).unwrap();
    std::os::unix::fs::symlink(&victim, lab.path("out/plan.dbplan")).unwrap();
    // Against the state that applied the tenants (a fresh one would find them on the server
    // and refuse to plan them as creates).
    let planned = lab_run(
        &lab,
        &[
            "plan",
            "tenants.yaml",
            "--out",
            "out/plan.dbplan",
            "--state",
            "linked",
        ],
    );
    expect_code(&planned, 0, "plan --out over a link");
    let regular_and_private = |path: &Path| {
        let metadata = std::fs::symlink_metadata(path).unwrap();
        metadata.is_file() && metadata.permissions().mode() & 0o777 == 0o600
    };
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the victim's own text\n"
    );
    assert!(regular_and_private(&lab.path("out/plan.dbplan")));
    expect_code(
        &lab_run(&lab, &["show", "out/plan.dbplan", "--state", "linked"]),
        0,
        "show of the plan written over a link",
    );

    std::fs::remove_file(lab.path("out/plan.dbplan")).unwrap();
    for planted in ["out/plan.tmp-dbplan", "out/plan.dbplan.tmp-dbplan"] {
        std::os::unix::fs::symlink(&victim, lab.path(planted)).unwrap();
    }
    let planned = lab_run(
        &lab,
        &[
            "plan",
            "tenants.yaml",
            "--out",
            "out/plan.dbplan",
            "--state",
            "linked",
        ],
    );
    expect_code(&planned, 0, "plan --out next to planted links");
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "the victim's own text\n"
    );
    assert!(regular_and_private(&lab.path("out/plan.dbplan")));
    let mut left: Vec<String> = std::fs::read_dir(lab.path("out"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["plan.dbplan", "plan.dbplan.tmp-dbplan", "plan.tmp-dbplan"],
        "the planted links are left alone and no temporary file is left"
    );
    for planted in ["out/plan.tmp-dbplan", "out/plan.dbplan.tmp-dbplan"] {
        assert_eq!(std::fs::read_link(lab.path(planted)).unwrap(), victim);
    }
}

/// Runs `dbplan` with `env` set and the passphrase variables removed otherwise.
fn dbplan_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dbplan"));
    command
        .args(args)
        .current_dir(crate::root())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("DBPLAN_STATE_PASSPHRASE")
        .env_remove("DBPLAN_STATE_NEW_PASSPHRASE");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the dbplan binary runs")
}

fn holds(file: &Path, needle: &[u8]) -> bool {
    std::fs::read(file)
        .unwrap()
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn an_encrypted_state_keeps_its_secret_out_of_every_file_and_needs_its_passphrase() {
    const SECRET: &str = "canary-5b7e-role-password";
    const PASSPHRASE: &str = "first passphrase 8c1d";
    const NEW: &str = "second passphrase 3f9a";
    let dir = seeded_state();
    let state = dir.path().to_string_lossy().into_owned();
    let with = [("DBPLAN_STATE_PASSPHRASE", PASSPHRASE)];
    let no_passphrase_in = |output: &Output| {
        let all = both(output);
        assert!(
            !all.contains(PASSPHRASE) && !all.contains(NEW),
            "a passphrase was printed:\n{all}"
        );
    };

    let output = dbplan_with(&["state", "encrypt", "--state", &state], &[]);
    expect_code(&output, 1, "encrypt without a passphrase");
    assert!(stderr(&output).contains("DBPLAN_STATE_PASSPHRASE"));
    let output = dbplan_with(&["state", "encrypt", "--state", &state], &with);
    expect_code(&output, 0, "encrypt");
    no_passphrase_in(&output);

    let output = dbplan_with(&["state", "list", "--state", &state], &[]);
    expect_code(&output, 1, "list without the passphrase");
    assert!(
        stderr(&output).contains("set DBPLAN_STATE_PASSPHRASE"),
        "{}",
        stderr(&output)
    );
    // `state check` tells a missing passphrase from damage.
    let output = dbplan_with(&["state", "check", "--state", &state], &[]);
    expect_code(&output, 1, "check without the passphrase");
    assert!(
        stdout(&output).contains("state: cannot be opened") && !both(&output).contains("DAMAGED"),
        "{}",
        both(&output)
    );
    expect_code(
        &dbplan_with(&["state", "check", "--state", &state], &with),
        0,
        "check with the passphrase",
    );
    let output = dbplan_with(
        &["state", "list", "--state", &state],
        &[("DBPLAN_STATE_PASSPHRASE", "wrong")],
    );
    expect_code(&output, 1, "list with a wrong passphrase");
    assert!(stderr(&output).contains("is not the passphrase"));
    let output = dbplan_with(
        &[
            "state",
            "show",
            "TenantDatabase/billing/role",
            "--state",
            &state,
        ],
        &with,
    );
    expect_code(&output, 0, "show");
    assert!(stdout(&output).contains("password = (sensitive)"));

    let printed = dbplan_with(&["state", "export", "--state", &state], &with);
    expect_code(&printed, 0, "export to stdout");
    assert!(stdout(&printed).contains("(sensitive)") && !stdout(&printed).contains(SECRET));
    let exports = tempfile::tempdir().unwrap();
    let out = exports.path().join("export.json");
    let out_text = out.to_string_lossy().into_owned();
    let output = dbplan_with(
        &["state", "export", "--out", &out_text, "--state", &state],
        &with,
    );
    expect_code(&output, 0, "export --out");
    no_passphrase_in(&output);
    let mut files = dbplan_testkit::files_under(dir.path()).unwrap();
    assert!(
        files
            .iter()
            .any(|file| file.starts_with(dir.path().join("backups")))
    );
    files.push(out.clone());
    for file in &files {
        assert!(
            !holds(file, SECRET.as_bytes()),
            "{} holds the secret",
            file.display()
        );
        assert!(!holds(file, PASSPHRASE.as_bytes()), "{}", file.display());
    }

    let elsewhere = tempfile::tempdir().unwrap();
    let other = elsewhere
        .path()
        .join("state")
        .to_string_lossy()
        .into_owned();
    let output = dbplan_with(&["state", "import", &out_text, "--state", &other], &[]);
    expect_code(
        &output,
        1,
        "import of an encrypted export without the passphrase",
    );
    assert!(stderr(&output).contains("DBPLAN_STATE_PASSPHRASE"));
    let output = dbplan_with(&["state", "import", &out_text, "--state", &other], &with);
    expect_code(&output, 0, "import with the passphrase");

    let output = dbplan_with(
        &["state", "rekey", "--state", &state],
        &[
            ("DBPLAN_STATE_PASSPHRASE", PASSPHRASE),
            ("DBPLAN_STATE_NEW_PASSPHRASE", NEW),
        ],
    );
    expect_code(&output, 0, "rekey");
    no_passphrase_in(&output);
    expect_code(
        &dbplan_with(&["state", "list", "--state", &state], &with),
        1,
        "list with the old passphrase",
    );
    let with_new = [("DBPLAN_STATE_PASSPHRASE", NEW)];
    expect_code(
        &dbplan_with(&["state", "list", "--state", &state], &with_new),
        0,
        "list with the new passphrase",
    );

    let output = dbplan_with(&["state", "decrypt", "--state", &state], &with_new);
    expect_code(&output, 0, "decrypt");
    let output = dbplan_with(&["state", "list", "--state", &state], &[]);
    expect_code(&output, 0, "list of the decrypted state");
    assert!(stdout(&output).contains("TenantDatabase/billing/role"));
}
