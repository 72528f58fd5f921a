//! A team's state in PostgreSQL (`--state postgres://…`), through the `dbplan` binary against
//! a real server: apply and re-plan, history, two applies at once, connections cut and the
//! server restarted mid-apply, SIGKILL in flight, moving a state between backends.

use super::apply::{CrashState, Held, Lab, Lines, Tenant, crash_test};
use super::{assert_code, stderr, stdout, text};
use std::process::Stdio;

/// The tables' rows of `state`, for assertions: `address generation` per resource.
fn rows(lab: &Lab, state: &str) -> Vec<String> {
    lab.sql(
        "postgres",
        &format!(
            "SELECT address || ' ' || generation FROM dbplan.resources WHERE state = '{state}' ORDER BY address"
        ),
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// An apply on `state` with parallelism 1, waiting on `role`, which the test creates in a
/// transaction it keeps open: returned once the server shows apply waiting, with that
/// transaction and apply's stderr.
fn apply_waiting_on_role(lab: &Lab, state: &str, role: &str) -> (Held, std::process::Child, Lines) {
    let held = lab.hold_in_a_transaction(&[format!("CREATE ROLE {role}")]);
    let mut child = lab
        .command(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--parallelism",
            "1",
            "--state",
            state,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = Lines::read(child.stderr.take().expect("stderr is piped"));
    lab.wait_until_server_shows(
        "apply waiting for the held role",
        "SELECT count(*) >= 1 FROM pg_stat_activity WHERE application_name = 'dbplan' AND wait_event_type = 'Lock'",
        || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("apply ended before it waited for the held role: {status}");
            }
        },
    );
    (held, child, output)
}

/// `plan --detailed-exitcode` on `state` finds nothing to do.
fn assert_converged(lab: &Lab, state: &str) {
    assert_code(
        &lab.run(&[
            "plan",
            "tenants.yaml",
            "--detailed-exitcode",
            "--state",
            state,
        ]),
        0,
    );
}

#[test]
fn a_postgres_state_applies_replans_as_no_op_and_keeps_a_history() {
    let lab = Lab::start();
    lab.manifests(&[Tenant::new("billing"), Tenant::new("orders")]);
    let state = lab.postgres_state("prod");
    // Planning reads and creates nothing.
    let planned = lab.run(&["plan", "tenants.yaml", "--state", &state]);
    assert_code(&planned, 0);
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'dbplan'"
        ),
        "0"
    );
    let applied = lab.run(&["apply", "tenants.yaml", "--auto-approve", "--state", &state]);
    assert_code(&applied, 0);
    assert_converged(&lab, &state);
    // One row per resource; no password in any table (they are sensitive values of the
    // secret's record only when the state is plain: see the encryption test).
    assert_eq!(rows(&lab, "prod").len(), 7, "{}", text(&applied));
    let listed = lab.run(&["state", "list", "--state", &state]);
    assert_code(&listed, 0);
    assert!(stdout(&listed).contains("TenantDatabase/billing/role"));
    let history = lab.run(&["state", "history", "--state", &state]);
    assert_code(&history, 0);
    let shown = stdout(&history);
    assert!(shown.contains("`dbplan apply`"), "{shown}");
    assert!(
        shown.contains("+ TenantDatabase/orders/database"),
        "{shown}"
    );
    assert_code(&lab.run(&["state", "check", "--state", &state]), 0);
    // `state show` and `output` read it like a local state.
    let output = lab.run(&["output", "TenantDatabase/billing", "--state", &state]);
    assert_code(&output, 0);
}

#[test]
fn a_saved_plan_made_in_one_working_copy_applies_from_another_and_a_stale_one_is_refused() {
    let lab = Lab::start();
    let state = lab.postgres_state("shared");
    lab.manifests(&[Tenant::new("alpha")]);
    // Copy A plans; copy B (another directory, the same manifests) applies the saved plan.
    let copy_b = tempfile::tempdir().unwrap();
    let planned = lab.run(&[
        "plan",
        "tenants.yaml",
        "--out",
        "alpha.plan",
        "--state",
        &state,
    ]);
    assert_code(&planned, 0);
    std::fs::copy(lab.path("tenants.yaml"), copy_b.path().join("tenants.yaml")).unwrap();
    std::fs::copy(lab.path("alpha.plan"), copy_b.path().join("alpha.plan")).unwrap();
    let applied = lab
        .command(&["apply", "alpha.plan", "--state", &state])
        .current_dir(copy_b.path())
        .output()
        .unwrap();
    assert_code(&applied, 0);
    let history = stdout(&lab.run(&["state", "history", "--state", &state]));
    assert!(history.contains("plan alpha.plan (sha256:"), "{history}");
    // A plan made before another change is refused as stale.
    lab.manifests(&[Tenant::new("alpha"), Tenant::new("beta")]);
    assert_code(
        &lab.run(&[
            "plan",
            "tenants.yaml",
            "--out",
            "beta.plan",
            "--state",
            &state,
        ]),
        0,
    );
    lab.manifests(&[Tenant::new("alpha"), Tenant::new("gamma")]);
    assert_code(
        &lab.run(&["apply", "tenants.yaml", "--auto-approve", "--state", &state]),
        0,
    );
    let stale = lab.run(&["apply", "beta.plan", "--state", &state]);
    assert_code(&stale, 1);
    assert!(stderr(&stale).contains("stale"), "{}", text(&stale));
    assert!(!lab.databases().contains(&"beta".to_owned()));
}

#[test]
fn two_applies_at_once_one_is_refused_naming_the_other_and_cut_connections_lose_nothing() {
    let lab = Lab::start();
    let state = lab.postgres_state("busy");
    let tenants: Vec<Tenant> = (0..4)
        .map(|index| Tenant::new(&format!("busy{index}")))
        .collect();
    lab.manifests(&tenants);
    // The first apply waits on a role the test creates in a transaction it keeps open.
    let (held, mut first, first_output) = apply_waiting_on_role(&lab, &state, "busy0_user");
    let second = lab.run(&["apply", "tenants.yaml", "--auto-approve", "--state", &state]);
    assert_code(&second, 1);
    let refusal = stderr(&second);
    assert!(refusal.contains("is locked by `dbplan apply`"), "{refusal}");
    assert!(
        refusal.contains(&format!("pid {}", first.id())),
        "{refusal}"
    );
    // `state unlock` names the holder and leaves a live one alone.
    let unlock = lab.run(&["state", "unlock", "--state", &state]);
    assert_code(&unlock, 1);
    assert!(stderr(&unlock).contains(&format!("pid {}", first.id())));
    // The state's connection is cut while the first apply works: it reconnects.
    lab.sql(
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbplan-state'",
    );
    held.roll_back();
    let status = first.wait().unwrap();
    let shown = first_output.rest();
    assert_eq!(status.code(), Some(0), "{shown}");
    assert_converged(&lab, &state);
    assert_eq!(rows(&lab, "busy").len(), 1 + 3 * tenants.len());
}

#[test]
fn a_server_restarted_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let lab = Lab::start();
    let state = lab.postgres_state("restarted");
    let tenants: Vec<Tenant> = (0..4)
        .map(|index| Tenant::new(&format!("rs{index}")))
        .collect();
    lab.manifests(&tenants[..1]);
    assert_code(
        &lab.run(&["apply", "tenants.yaml", "--auto-approve", "--state", &state]),
        0,
    );
    lab.manifests(&tenants);
    let (held, mut child, output) = apply_waiting_on_role(&lab, &state, "rs2_user");
    // Every connection is cut, the held transaction with them.
    drop(held);
    lab.server.restart().unwrap();
    let status = child.wait().unwrap();
    let shown = output.rest();
    // Whatever the step in flight did, the run ends with the state written and the lock
    // released: the next apply converges without help.
    assert!(status.code().is_some(), "{shown}");
    let applied =
        lab.apply_when_unlocked(&["apply", "tenants.yaml", "--auto-approve", "--state", &state]);
    assert_code(&applied, 0);
    assert_converged(&lab, &state);
    let databases: Vec<String> = lab
        .databases()
        .into_iter()
        .filter(|name| name.starts_with("rs"))
        .collect();
    assert_eq!(databases, vec!["rs0", "rs1", "rs2", "rs3"], "{shown}");
    assert_eq!(rows(&lab, "restarted").len(), 1 + 3 * tenants.len());
}

/// SIGKILL of `dbplan apply` on a PostgreSQL state, at pseudo-random points: the same checks
/// as the local state's crash test (`DBPLAN_CRASH_KILLS` sets how many; default 10), with the
/// lock freed by its lease instead of `state unlock`.
#[test]
fn sigkill_during_apply_on_a_postgres_state_never_loses_or_duplicates_anything() {
    crash_test(&Lab::start(), CrashState::Postgres);
}

#[test]
fn a_state_migrates_from_a_directory_to_postgres_and_back_with_lineage_serial_and_secrets() {
    let lab = Lab::start();
    lab.manifests(&[Tenant::new("moved")]);
    assert_code(&lab.apply(), 0);
    let local = stdout(&lab.run(&["state", "list"]));
    let before = stderr(&lab.run(&["state", "list"]));
    let state = lab.postgres_state("migrated");
    let migrated = lab.run(&["state", "migrate", "--to", &state]);
    assert_code(&migrated, 0);
    let history = stdout(&lab.run(&["state", "history", "--state", &state]));
    assert!(
        history.contains("`dbplan state migrate (from state)`"),
        "{history}"
    );
    // The local state's history came along: its apply, with what it wrote.
    assert!(history.contains("`dbplan apply`"), "{history}");
    assert!(history.contains("+ TenantDatabase/moved/role"), "{history}");
    assert!(
        stderr(&migrated).contains("left as it is"),
        "{}",
        text(&migrated)
    );
    let listed = lab.run(&["state", "list", "--state", &state]);
    assert_eq!(stdout(&listed), local);
    // Same lineage and serial: the summary line differs only in where.
    let lineage = |summary: &str| summary.split("(lineage").nth(1).map(str::to_owned);
    assert_eq!(lineage(&stderr(&listed)), lineage(&before));
    // The PostgreSQL state plans as no-op against the same objects (its secrets came along).
    assert_converged(&lab, &state);
    // A second migration onto it is refused as not newer; back to a new directory works.
    assert_code(&lab.run(&["state", "migrate", "--to", &state]), 1);
    let back = lab.run(&["state", "migrate", "--state", &state, "--to", "state-back"]);
    assert_code(&back, 0);
    assert_eq!(
        stdout(&lab.run(&["state", "list", "--state", "state-back"])),
        local
    );
    // Back in a directory, the history holds all of it: the first apply and both migrations.
    let history = lab.run(&["state", "history", "--state", "state-back"]);
    assert_code(&history, 0);
    let history = stdout(&history);
    assert!(history.contains("`dbplan apply`"), "{history}");
    assert!(
        history.contains("`dbplan state migrate (from state)`"),
        "{history}"
    );
    assert!(
        history.contains("`dbplan state migrate (from postgres://"),
        "{history}"
    );
    // Export and import work with the PostgreSQL backend too.
    assert_code(
        &lab.run(&[
            "state",
            "export",
            "--state",
            &state,
            "--out",
            "exported.json",
        ]),
        0,
    );
    let other = lab.postgres_state("imported");
    assert_code(
        &lab.run(&["state", "import", "exported.json", "--state", &other]),
        0,
    );
    assert_eq!(
        stdout(&lab.run(&["state", "list", "--state", &other])),
        local
    );
}

#[test]
fn an_encrypted_postgres_state_keeps_the_password_out_of_its_tables() {
    let lab = Lab::start();
    lab.manifests(&[Tenant::new("sealed")]);
    let state = lab.postgres_state("sealed");
    assert_code(
        &lab.run(&["apply", "tenants.yaml", "--auto-approve", "--state", &state]),
        0,
    );
    let password = super::apply::value(&lab.env_secret("sealed"), "DB_PASSWORD").to_owned();
    let tables = |lab: &Lab| {
        lab.sql(
            "postgres",
            "SELECT string_agg(encode(record, 'escape'), ' ') FROM dbplan.resources UNION ALL SELECT string_agg(key, ' ') FROM dbplan.states",
        )
    };
    assert!(tables(&lab).contains(&password), "the plain state holds it");
    let encrypted = lab
        .command(&["state", "encrypt", "--state", &state])
        .env("DBPLAN_STATE_PASSPHRASE", "team passphrase for tests")
        .output()
        .unwrap();
    assert_code(&encrypted, 0);
    assert!(!tables(&lab).contains(&password));
    // Without the passphrase it is refused, never read as plaintext.
    let refused = lab.run(&["plan", "tenants.yaml", "--state", &state]);
    assert_code(&refused, 1);
    assert!(
        stderr(&refused).contains("DBPLAN_STATE_PASSPHRASE"),
        "{}",
        text(&refused)
    );
    let planned = lab
        .command(&[
            "plan",
            "tenants.yaml",
            "--detailed-exitcode",
            "--state",
            &state,
        ])
        .env("DBPLAN_STATE_PASSPHRASE", "team passphrase for tests")
        .output()
        .unwrap();
    assert_code(&planned, 0);
    assert!(!text(&planned).contains(&password));
    // Its export keeps the values sealed; only `--show-sensitive` writes them in the clear.
    let exported = lab
        .command(&["state", "export", "--state", &state, "--out", "sealed.json"])
        .env("DBPLAN_STATE_PASSPHRASE", "team passphrase for tests")
        .output()
        .unwrap();
    assert_code(&exported, 0);
    let document = std::fs::read_to_string(lab.path("sealed.json")).unwrap();
    assert!(!document.contains(&password));
    assert!(document.contains("$dbplan-encrypted"));
}
