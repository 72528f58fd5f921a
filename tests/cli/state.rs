//! `dbplan state list | show | rm | unlock` against a real sled store.

use crate::{dbplan, stderr, stdout};
use dbplan_state::{LockInfo, ResourceState, SledStore, StateLock, StateStore, StateValue};

fn seeded_state() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path(), "test").unwrap();
    let mut database = ResourceState::new("TenantDatabase/billing/database", "TenantDatabase");
    database.provider_id = Some("billing".into());
    database.lifecycle.deletion_protection = true;
    database
        .attributes
        .insert("owner".into(), StateValue::plain("billing_app"));
    let mut role = ResourceState::new("TenantDatabase/billing/role", "TenantDatabase");
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
