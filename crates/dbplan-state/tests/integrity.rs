//! The integrity layer: every kind of damage to a state's files, with and without a sled
//! snapshot, is either reported or (where sled never reads the damaged bytes) leaves the state
//! exactly as it was; never an older or empty state, and the files are never altered by a
//! failed open. Backups, restore, export and import.

// Test helpers fail loudly; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_core::{Kind, ResourceAddress};
use dbplan_state::{
    ResourceState, SerialChoice, SledStore, Snapshot, StateChange, StateError, StateStore,
    StateValue,
};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn resource(index: usize) -> ResourceState {
    let mut resource = ResourceState::new(
        ResourceAddress::new(Kind::TenantDatabase, format!("tenant-{index}")).part("database"),
    );
    resource.provider_id = Some(format!("tenant_{index}"));
    resource.attributes.insert(
        "owner".into(),
        StateValue::plain(format!("tenant_{index}_user")),
    );
    resource.outputs.insert(
        "password".into(),
        StateValue::sensitive(format!("generated-password-{index}")),
    );
    resource
}

/// A state with 30 resources written over several sessions. `with_snapshot`: reopened between
/// sessions, so sled has written a snapshot file (sled writes one when it opens a database
/// whose log moved on); without it, the whole state is in sled's log alone.
fn fixture(with_snapshot: bool) -> (tempfile::TempDir, Snapshot) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let store = SledStore::open(&path, "fixture").unwrap();
    for batch in 0..3 {
        let changes: Vec<StateChange> = (batch * 10..batch * 10 + 10)
            .map(|index| StateChange::Put(resource(index)))
            .collect();
        store.write_batch(&changes).unwrap();
        if with_snapshot && batch == 1 {
            store.close().unwrap();
            let reopened = SledStore::open(&path, "fixture").unwrap();
            reopened.remove(&resource(3).address).unwrap();
            reopened.close().unwrap();
            let store = SledStore::open(&path, "fixture").unwrap();
            store.write_batch(&[StateChange::Put(resource(3))]).unwrap();
            // The remaining batch is written by this session.
            let changes: Vec<StateChange> = (20..30)
                .map(|index| StateChange::Put(resource(index)))
                .collect();
            store.write_batch(&changes).unwrap();
            let snapshot = store.snapshot().unwrap();
            store.close().unwrap();
            assert!(
                has_sled_snapshot(&path),
                "sled wrote a snapshot file when it reopened the database"
            );
            return (dir, snapshot);
        }
    }
    let snapshot = store.snapshot().unwrap();
    store.close().unwrap();
    assert!(!has_sled_snapshot(&path), "one session: no sled snapshot");
    (dir, snapshot)
}

fn has_sled_snapshot(state: &Path) -> bool {
    std::fs::read_dir(state.join("db")).unwrap().any(|entry| {
        entry
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("snap.")
    })
}

/// Every file of a state directory (but the lock) and its bytes.
fn contents(state: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(path: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(path).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "dbplan.lock" {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                walk(&entry.path(), root, out);
            } else {
                out.insert(
                    entry.path().strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(entry.path()).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(state, state, &mut out);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[derive(Clone, Debug)]
enum Damage {
    FlipBit { file: PathBuf, offset: u64, bit: u8 },
    Truncate { file: PathBuf, length: u64 },
    Garbage { file: PathBuf },
    Remove { file: PathBuf },
    RemoveDatabase,
    EmptyDatabase,
}

impl Damage {
    fn apply(&self, state: &Path) {
        match self {
            Damage::FlipBit { file, offset, bit } => {
                let path = state.join(file);
                let mut bytes = std::fs::read(&path).unwrap();
                bytes[*offset as usize] ^= 1 << bit;
                std::fs::write(&path, bytes).unwrap();
            }
            Damage::Truncate { file, length } => {
                let handle = std::fs::OpenOptions::new()
                    .write(true)
                    .open(state.join(file))
                    .unwrap();
                handle.set_len(*length).unwrap();
            }
            Damage::Garbage { file } => {
                let path = state.join(file);
                let length = std::fs::metadata(&path).unwrap().len() as usize;
                let mut seed = 0x9e37_79b9_u64;
                let garbage: Vec<u8> = (0..length)
                    .map(|_| {
                        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        (seed >> 56) as u8
                    })
                    .collect();
                std::fs::write(&path, garbage).unwrap();
            }
            Damage::Remove { file } => std::fs::remove_file(state.join(file)).unwrap(),
            Damage::RemoveDatabase => std::fs::remove_dir_all(state.join("db")).unwrap(),
            Damage::EmptyDatabase => {
                std::fs::remove_dir_all(state.join("db")).unwrap();
                std::fs::create_dir(state.join("db")).unwrap();
            }
        }
    }
}

/// The kinds of damage to try on a pristine state: bits flipped at spread offsets of every
/// file (every bit of the head mirror), truncation at spread offsets, garbage, each file
/// removed, the database removed or emptied.
fn damages(state: &Path, per_file: u64) -> Vec<Damage> {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound.max(1)
    };
    let mut out = vec![Damage::RemoveDatabase, Damage::EmptyDatabase];
    for (file, bytes) in contents(state) {
        let length = bytes.len() as u64;
        out.push(Damage::Remove { file: file.clone() });
        if length == 0 {
            continue;
        }
        out.push(Damage::Garbage { file: file.clone() });
        let is_head = file == Path::new("head.json");
        // The head mirror is small: every one of its bits. Elsewhere, offsets spread over
        // the bytes in use (sled's files are mostly preallocated zeros past the log).
        let used = bytes
            .iter()
            .rposition(|byte| *byte != 0)
            .map_or(1, |last| last as u64 + 1);
        let flips: Vec<(u64, u8)> = if is_head {
            (0..length)
                .map(|offset| (offset, (offset % 8) as u8))
                .collect()
        } else {
            (0..per_file).map(|_| (next(used), next(8) as u8)).collect()
        };
        for (offset, bit) in flips {
            out.push(Damage::FlipBit {
                file: file.clone(),
                offset,
                bit,
            });
        }
        let mut cuts: Vec<u64> = vec![0, length / 2, length - 1, used.saturating_sub(1)];
        cuts.extend((0..per_file / 4).map(|_| next(used)));
        for length in cuts {
            out.push(Damage::Truncate {
                file: file.clone(),
                length,
            });
        }
    }
    out
}

/// What a read or an open of a damaged state gave.
#[derive(Debug, Default)]
struct Tally {
    reported: usize,
    unchanged_state: usize,
}

fn try_damage(pristine: &Path, expected: &Snapshot, damage: &Damage, tally: &mut Tally) {
    let scratch = tempfile::tempdir().unwrap();
    let state = scratch.path().join("state");
    copy_dir(pristine, &state);
    damage.apply(&state);
    let before = contents(&state);

    // A reader (plan, state list, state show, output).
    match SledStore::read(&state, "reader") {
        Ok(Some(read)) => {
            assert_eq!(
                &read.snapshot, expected,
                "{damage:?}: a damaged state was read as another state"
            );
            tally.unchanged_state += 1;
        }
        Ok(None) => panic!("{damage:?}: a damaged state was read as no state"),
        Err(error) => {
            assert!(
                matches!(
                    error,
                    StateError::Corrupted { .. } | StateError::Open { .. }
                ),
                "{damage:?}: {error}"
            );
            let message = error.to_string();
            assert!(
                message.contains("state check") || message.contains("state restore"),
                "{damage:?}: the message names the way back: {message}"
            );
            tally.reported += 1;
        }
    }
    assert_eq!(
        contents(&state),
        before,
        "{damage:?}: reading altered the files"
    );

    // A writer (apply, destroy, state rm): the same verdict, and a refused open changes
    // nothing either.
    match SledStore::open(&state, "writer") {
        Ok(store) => {
            assert_eq!(
                &store.snapshot().unwrap(),
                expected,
                "{damage:?}: a writer opened a damaged state as another state"
            );
        }
        Err(_) => assert_eq!(
            contents(&state),
            before,
            "{damage:?}: a refused open altered the files"
        ),
    }
}

/// Every damage of [`damages`] (`per_file` random ones per file) to a copy of `pristine`: each
/// is reported or leaves the state as `expected`; prints the tally under `label`.
fn run_matrix(pristine: &Path, expected: &Snapshot, per_file: u64, label: &str) {
    let cases = damages(pristine, per_file);
    let mut tally = Tally::default();
    for damage in &cases {
        try_damage(pristine, expected, damage, &mut tally);
    }
    println!(
        "corruption matrix ({label}): {} kinds of damage, {} reported, {} left the state intact",
        cases.len(),
        tally.reported,
        tally.unchanged_state
    );
    assert!(
        tally.reported > cases.len() / 2,
        "most damage lands on bytes in use: {tally:?}"
    );
}

fn corruption_matrix(with_snapshot: bool) {
    let (dir, expected) = fixture(with_snapshot);
    let label = if with_snapshot {
        "with a sled snapshot"
    } else {
        "without a sled snapshot"
    };
    run_matrix(&dir.path().join("state"), &expected, 24, label);
}

#[test]
fn damage_without_a_sled_snapshot_is_reported_never_read_as_another_state() {
    corruption_matrix(false);
}

#[test]
fn damage_with_a_sled_snapshot_is_reported_never_read_as_another_state() {
    corruption_matrix(true);
}

/// A state large enough that its records are read on several threads (in key ranges): every
/// record comes back, and damage anywhere in it is reported as in a small one.
#[test]
fn a_large_state_is_read_whole_and_damage_to_it_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("state");
    let store = SledStore::open(&pristine, "fixture").unwrap();
    let changes: Vec<StateChange> = (0..1_200)
        .map(|index| StateChange::Put(resource(index)))
        .collect();
    store.write_batch(&changes).unwrap();
    let expected = store.snapshot().unwrap();
    store.close().unwrap();
    assert_eq!(expected.resources.len(), 1_200);

    let read = SledStore::read(&pristine, "reader").unwrap().unwrap();
    assert_eq!(read.snapshot, expected, "every record comes back, in order");

    run_matrix(&pristine, &expected, 8, "1,200 records");
}

#[test]
fn removing_the_head_mirror_or_the_database_is_reported_with_the_way_back() {
    let (dir, _) = fixture(false);
    let state = dir.path().join("state");
    let head = std::fs::read(state.join("head.json")).unwrap();
    std::fs::remove_file(state.join("head.json")).unwrap();
    let error = SledStore::read(&state, "test").unwrap_err().to_string();
    assert!(error.contains("head.json is missing"), "{error}");
    std::fs::write(state.join("head.json"), head).unwrap();
    std::fs::remove_dir_all(state.join("db")).unwrap();
    assert!(
        SledStore::exists(&state),
        "a head without a database is a state"
    );
    let error = SledStore::read(&state, "test").unwrap_err().to_string();
    assert!(
        error.contains("missing or empty") && error.contains("dbplan state restore"),
        "{error}"
    );
}

#[test]
fn a_database_ahead_of_its_mirror_is_a_crash_between_commit_and_mirror_and_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = SledStore::open(&state, "test").unwrap();
    store.put(&resource(0)).unwrap();
    let older_head = std::fs::read(state.join("head.json")).unwrap();
    store.put(&resource(1)).unwrap();
    let expected = store.snapshot().unwrap();
    drop(store);
    // As if killed after sled's flush and before the mirror's rename.
    std::fs::write(state.join("head.json"), &older_head).unwrap();
    let read = SledStore::read(&state, "test").unwrap().unwrap();
    assert_eq!(read.snapshot, expected);
    let store = SledStore::open(&state, "test").unwrap();
    assert_eq!(store.snapshot().unwrap(), expected);
    drop(store);
    assert_ne!(
        std::fs::read(state.join("head.json")).unwrap(),
        older_head,
        "the writer brought the mirror up to date"
    );
}

#[test]
fn a_database_behind_its_mirror_lost_records_and_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = SledStore::open(&state, "test").unwrap();
    store.put(&resource(0)).unwrap();
    store.close().unwrap();
    let older = dir.path().join("older");
    copy_dir(&state.join("db"), &older);
    let store = SledStore::open(&state, "test").unwrap();
    store.put(&resource(1)).unwrap();
    drop(store);
    // An older copy of the database put back (a restore of the directory gone wrong).
    std::fs::remove_dir_all(state.join("db")).unwrap();
    copy_dir(&older, &state.join("db"));
    let error = SledStore::read(&state, "test").unwrap_err().to_string();
    assert!(error.contains("records were lost"), "{error}");
}

#[test]
fn every_session_that_changes_the_state_leaves_a_private_checksummed_backup_and_ten_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    for index in 0..12 {
        let store = SledStore::open(&state, "test").unwrap();
        store.put(&resource(index)).unwrap();
        store.close().unwrap();
    }
    // A session that changes nothing adds no backup.
    SledStore::open(&state, "test").unwrap().close().unwrap();
    let backups = SledStore::backups(&state).unwrap();
    let serials: Vec<u64> = backups.iter().map(|backup| backup.serial).collect();
    assert_eq!(serials, (3..=12).collect::<Vec<u64>>());
    let folder = std::fs::metadata(state.join("backups")).unwrap();
    assert_eq!(folder.permissions().mode() & 0o777, 0o700);
    for backup in &backups {
        let mode = std::fs::metadata(&backup.path)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{}", backup.path.display());
        let read = dbplan_state::export::read_backup(backup).unwrap();
        assert_eq!(read.snapshot.resources.len() as u64, backup.serial);
    }
    // A damaged backup is reported by check, and the state itself is still good.
    let newest = backups.last().unwrap();
    let text = std::fs::read_to_string(&newest.path)
        .unwrap()
        .replace("tenant_11_user", "tenant_99_user");
    std::fs::write(&newest.path, text).unwrap();
    let report = SledStore::check(&state).unwrap();
    assert!(report.state.is_ok());
    let damaged: Vec<u64> = report
        .backups
        .iter()
        .filter(|(_, verdict)| verdict.is_err())
        .map(|(backup, _)| backup.serial)
        .collect();
    assert_eq!(damaged, [12]);
}

#[test]
fn a_killed_session_is_backed_up_by_the_next_writer() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let store = SledStore::open(&state, "test").unwrap();
    store.put(&resource(0)).unwrap();
    // No close: as if the process died after its last write.
    drop(store);
    assert!(SledStore::backups(&state).unwrap().is_empty());
    SledStore::open(&state, "test").unwrap().close().unwrap();
    let serials: Vec<u64> = SledStore::backups(&state)
        .unwrap()
        .iter()
        .map(|backup| backup.serial)
        .collect();
    assert_eq!(serials, [1]);
}

#[test]
fn restore_brings_back_a_backup_over_a_damaged_database_and_keeps_the_damaged_one() {
    let (dir, expected) = fixture(false);
    let state = dir.path().join("state");
    Damage::Truncate {
        file: PathBuf::from("db/db"),
        length: 100,
    }
    .apply(&state);
    assert!(SledStore::read(&state, "test").is_err());
    let backup = SledStore::backups(&state).unwrap().pop().unwrap();
    let exported = dbplan_state::export::read_backup(&backup).unwrap();
    let replaced =
        SledStore::replace(&state, "test", &exported, SerialChoice::AboveCurrent, false).unwrap();
    assert_eq!(
        replaced.serial,
        expected.serial + 1,
        "every older plan is stale"
    );
    let aside = replaced.moved_aside.unwrap();
    assert!(aside.join("db").exists(), "the damaged database is kept");
    let read = SledStore::read(&state, "test").unwrap().unwrap();
    assert_eq!(read.snapshot.resources, expected.resources);
    assert_eq!(read.snapshot.lineage, expected.lineage);
    assert_eq!(read.snapshot.serial, expected.serial + 1);

    // A backup of another state needs --force.
    let (other_dir, _) = fixture(false);
    let other = SledStore::backups(&other_dir.path().join("state"))
        .unwrap()
        .pop()
        .unwrap();
    let foreign = dbplan_state::export::read_backup(&other).unwrap();
    let error = SledStore::replace(&state, "test", &foreign, SerialChoice::AboveCurrent, false)
        .unwrap_err();
    assert!(
        matches!(error, StateError::LineageMismatch { .. }),
        "{error}"
    );
    SledStore::replace(&state, "test", &foreign, SerialChoice::AboveCurrent, true).unwrap();
    assert_eq!(
        SledStore::read(&state, "test")
            .unwrap()
            .unwrap()
            .snapshot
            .lineage,
        foreign.snapshot.lineage
    );
}

#[test]
fn export_and_import_move_a_state_with_its_lineage_serial_secrets_and_key() {
    let (dir, expected) = fixture(false);
    let state = dir.path().join("state");
    let read = SledStore::read(&state, "test").unwrap().unwrap();
    let key = read.key.unwrap();
    let text = dbplan_state::export::to_text(&read.snapshot, Some(&key)).unwrap();
    let target = dir.path().join("moved");
    let exported = dbplan_state::export::from_text(&text).unwrap();
    SledStore::replace(&target, "test", &exported, SerialChoice::Keep, false).unwrap();
    let store = SledStore::open(&target, "test").unwrap();
    assert_eq!(store.snapshot().unwrap(), expected);
    assert_eq!(store.key().unwrap(), key, "saved plans still authenticate");
    drop(store);
    // The same export again is not newer.
    let error =
        SledStore::replace(&target, "test", &exported, SerialChoice::Keep, false).unwrap_err();
    assert!(matches!(error, StateError::NotNewer { .. }), "{error}");

    // A redacted export shows no secret, and cannot be imported.
    let redacted = dbplan_state::export::to_text(&read.snapshot, None).unwrap();
    assert!(!redacted.contains("generated-password"));
    let redacted = dbplan_state::export::from_text(&redacted).unwrap();
    let error = SledStore::replace(
        &dir.path().join("third"),
        "test",
        &redacted,
        SerialChoice::Keep,
        false,
    )
    .unwrap_err();
    assert!(matches!(error, StateError::Redacted), "{error}");
    // An edited export fails its checksum.
    let edited = text.replace("tenant_1_user", "tenant_x_user");
    assert!(dbplan_state::export::from_text(&edited).is_err());
}

#[test]
fn a_state_behind_a_symlink_is_made_private_on_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real");
    std::fs::create_dir(&target).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
    let link = dir.path().join("state");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let store = SledStore::open(&link, "test").unwrap();
    store.put(&resource(0)).unwrap();
    store.close().unwrap();
    fn check(path: &Path) {
        let metadata = std::fs::symlink_metadata(path).unwrap();
        let mode = metadata.permissions().mode() & 0o777;
        if metadata.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            for entry in std::fs::read_dir(path).unwrap() {
                check(&entry.unwrap().path());
            }
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    check(&target);
    assert!(target.join("db").is_dir() && target.join("head.json").is_file());
    // A link that leads nowhere is refused, and nothing is created at its target.
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let error = SledStore::open(&dangling, "test").unwrap_err();
    assert!(matches!(error, StateError::Location { .. }), "{error}");
    assert!(!dir.path().join("nowhere").exists());
}

#[test]
fn a_format_1_state_is_read_as_it_is_and_converted_by_the_first_writer() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    {
        // Format 1, as the first dbplan wrote it: plain JSON records, no key, no head.
        let db = sled::open(state.join("db")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        let resources = db.open_tree("resources").unwrap();
        meta.insert("format_version", &1u64.to_be_bytes()).unwrap();
        meta.insert("lineage", "0f0f-legacy").unwrap();
        meta.insert("serial", &2u64.to_be_bytes()).unwrap();
        for index in 0..2 {
            let record = resource(index);
            resources
                .insert(
                    record.address.to_string().as_bytes(),
                    serde_json::to_vec(&record).unwrap(),
                )
                .unwrap();
        }
        db.flush().unwrap();
    }
    let read = SledStore::read(&state, "test").unwrap().unwrap();
    assert_eq!(read.snapshot.lineage, "0f0f-legacy");
    assert_eq!(read.snapshot.resources.len(), 2);
    assert!(read.key.is_none(), "a format-1 state has no key yet");
    assert!(
        !state.join("head.json").exists(),
        "reading converts nothing"
    );

    let store = SledStore::open(&state, "test").unwrap();
    let converted = store.snapshot().unwrap();
    assert_eq!(converted.serial, 2);
    assert_eq!(converted.resources, read.snapshot.resources);
    store.put(&resource(2)).unwrap();
    store.close().unwrap();
    assert!(state.join("head.json").exists());
    let read = SledStore::read(&state, "test").unwrap().unwrap();
    assert!(read.key.is_some());
    assert_eq!(read.snapshot.serial, 3);
    assert_eq!(read.snapshot.resources.len(), 3);
}

#[test]
fn a_state_link_that_leads_nowhere_is_refused_by_readers_too() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("state");
    std::os::unix::fs::symlink(dir.path().join("unmounted/volume"), &link).unwrap();
    let error = SledStore::read(&link, "test").unwrap_err();
    assert!(matches!(error, StateError::Location { .. }), "{error}");
}

#[test]
fn a_record_of_a_kind_this_dbplan_does_not_know_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    {
        // A format-1 state (plain JSON records) with a record of an unknown kind, as a newer
        // dbplan or a hand edit could leave it.
        let db = sled::open(state.join("db")).unwrap();
        let meta = db.open_tree("meta").unwrap();
        let resources = db.open_tree("resources").unwrap();
        meta.insert("format_version", &1u64.to_be_bytes()).unwrap();
        meta.insert("lineage", "0f0f-legacy").unwrap();
        meta.insert("serial", &1u64.to_be_bytes()).unwrap();
        resources
            .insert(
                "MysqlServer/legacy",
                br#"{"address":"MysqlServer/legacy","kind":"MysqlServer"}"#.as_slice(),
            )
            .unwrap();
        db.flush().unwrap();
    }
    let error = SledStore::read(&state, "test").unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("MysqlServer/legacy") && message.contains("unknown kind `MysqlServer`"),
        "{message}"
    );
}
