//! The pull-request workflow of `examples/ci`, run locally with the same commands: two working
//! copies of `examples/postgres-tenants` (the pull request's checkout and the apply job's) share
//! one state and a real PostgreSQL server. A plan saved in one copy applies from the other; a
//! saved plan whose state has moved since (another change was applied first) is refused as
//! stale with the advice to plan again, and the plan made again applies.

use crate::apply::Lab;
use crate::{assert_code, copy_example, root, stderr, stdout, text};
use dbplan_testkit::SUPERUSER;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The manifests' folder in a working copy, as `DBPLAN_MANIFESTS` names it in the workflows.
const MANIFESTS: &str = "databases";

/// The flags of the pull-request workflow's plan step, after `dbplan plan "$DBPLAN_MANIFESTS"`.
const PLAN_FLAGS: [&str; 5] = [
    "--out",
    "dbplan.plan",
    "--format",
    "markdown",
    "--detailed-exitcode",
];

/// What the apply workflow looks for in `dbplan apply`'s output to tell a stale plan.
const STALE: &str = "saved plan is stale";

/// The state the working copies share, handed to `dbplan` as `DBPLAN_STATE` the way the
/// workflows hand it their secret: one value, so that the same flow runs against every backend.
enum SharedState {
    /// A sled state directory on this machine.
    Directory(PathBuf),
    /// A state in the lab's PostgreSQL server, as a team shares it between runners.
    Postgres(String),
}

impl SharedState {
    fn configure(&self, command: &mut Command) {
        match self {
            SharedState::Directory(path) => command.env("DBPLAN_STATE", path),
            SharedState::Postgres(url) => command.env("DBPLAN_STATE", url),
        };
    }
}

/// A checkout of the repository: the manifests in [`MANIFESTS`], `dbplan` run from its root.
struct WorkingCopy<'a> {
    lab: &'a Lab,
    state: &'a SharedState,
    directory: PathBuf,
}

impl<'a> WorkingCopy<'a> {
    /// `examples/postgres-tenants`, pointed at the lab's server (its port and superuser).
    fn checkout(lab: &'a Lab, state: &'a SharedState, name: &str) -> WorkingCopy<'a> {
        let directory = lab.path(name);
        copy_example("postgres-tenants", &directory.join(MANIFESTS), |text| {
            assert!(text.contains("port: 5432") && text.contains("adminUser: postgres"));
            text.replace("port: 5432", &format!("port: {}", lab.server.port))
                .replace("adminUser: postgres", &format!("adminUser: {SUPERUSER}"))
        });
        WorkingCopy {
            lab,
            state,
            directory,
        }
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.directory.join(relative)
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = self.lab.command(args);
        command.current_dir(&self.directory);
        self.state.configure(&mut command);
        command.output().unwrap()
    }

    /// Changes the manifests as a commit would.
    fn edit(&self, from: &str, to: &str) {
        let path = self.path(&format!("{MANIFESTS}/tenants.yaml"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{} has no {from:?}", path.display());
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    /// The pull request's plan step; the saved plan and its Markdown are kept as the artifact
    /// `name` (a folder of the lab, as the apply job downloads it). Returns the run and the
    /// artifact's plan file.
    fn plan(&self, name: &str) -> (Output, PathBuf) {
        let mut args = vec!["plan", MANIFESTS];
        args.extend(PLAN_FLAGS);
        let output = self.run(&args);
        let artifact = self.lab.path(&format!("artifacts/{name}"));
        std::fs::create_dir_all(&artifact).unwrap();
        if self.path("dbplan.plan").exists() {
            std::fs::rename(self.path("dbplan.plan"), artifact.join("dbplan.plan")).unwrap();
        }
        std::fs::write(artifact.join("plan.md"), &output.stdout).unwrap();
        (output, artifact.join("dbplan.plan"))
    }

    /// The apply job's step: `dbplan apply` of a downloaded plan.
    fn apply(&self, plan: &Path) -> Output {
        self.run(&["apply", plan.to_str().unwrap()])
    }
}

/// The workflow files say what this test runs.
fn assert_workflows_run_these_commands() {
    let read = |name: &str| std::fs::read_to_string(root().join("examples/ci").join(name)).unwrap();
    let pull_request = read("dbplan-pull-request.yml");
    for expected in [
        format!("DBPLAN_MANIFESTS: {MANIFESTS}\n"),
        "dbplan lint \"$DBPLAN_MANIFESTS\" --format sarif".to_owned(),
        format!("dbplan plan \"$DBPLAN_MANIFESTS\" {}", PLAN_FLAGS.join(" ")),
    ] {
        assert!(
            pull_request.contains(&expected),
            "dbplan-pull-request.yml runs no `{expected}`"
        );
    }
    let apply = read("dbplan-apply.yml");
    for expected in [
        "dbplan apply \"$reviewed/dbplan.plan\"".to_owned(),
        format!("grep -q '{STALE}'"),
    ] {
        assert!(
            apply.contains(&expected),
            "dbplan-apply.yml runs no `{expected}`"
        );
    }
}

/// The connection limit of a tenant's role on the server.
fn connection_limit(lab: &Lab, role: &str) -> String {
    lab.sql(
        "postgres",
        &format!("SELECT rolconnlimit FROM pg_roles WHERE rolname = '{role}'"),
    )
}

/// A pull request planned in `a` and applied from `b` after review: lint (as the workflow runs
/// it), plan with Markdown for the comment, apply of the saved plan.
fn review_and_merge(lab: &Lab, a: &WorkingCopy<'_>, b: &WorkingCopy<'_>) {
    let linted = a.run(&["lint", MANIFESTS, "--format", "sarif"]);
    assert_code(&linted, 0);
    let sarif: serde_json::Value = serde_json::from_str(&stdout(&linted)).unwrap();
    assert_eq!(sarif["version"], "2.1.0");

    let (planned, plan) = a.plan("pull-1");
    assert_code(&planned, 2);
    let markdown = stdout(&planned);
    assert!(
        markdown.starts_with("### dbplan plan") && markdown.contains("TenantDatabase/orders"),
        "{markdown}"
    );
    // Planning reads the shared state; it writes nothing on the server.
    assert!(lab.databases().is_empty());

    let applied = b.apply(&plan);
    assert_code(&applied, 0);
    assert_eq!(lab.databases(), ["orders", "scratch"]);
    assert_eq!(connection_limit(lab, "orders_user"), "20");
    // The connection secrets land in the checkout that applied, where the plan put them
    // relative to the directory it was made in.
    assert!(b.path("databases/secrets/orders.env").is_file());
    assert!(!a.path("databases/secrets").exists());
}

/// Two pull requests planned against the same state: `b`'s is applied first, so `a`'s saved
/// plan is stale and refused; planned again on top of `b`'s change, it applies.
fn stale_plan_is_refused_and_planning_again_applies(
    lab: &Lab,
    a: &WorkingCopy<'_>,
    b: &WorkingCopy<'_>,
) {
    let reports = "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: reports\nspec:\n  server: local\n  deletionProtection: false\n  roleDeletionPolicy: Delete\n  dbDeletionPolicy: Delete\n  connectionSecret: {file: secrets/reports.env, format: env}\n";
    let manifests = a.path(&format!("{MANIFESTS}/tenants.yaml"));
    let before = std::fs::read_to_string(&manifests).unwrap();
    std::fs::write(&manifests, format!("{before}{reports}")).unwrap();
    let (planned, stale) = a.plan("pull-2");
    assert_code(&planned, 2);

    b.edit("connectionLimit: 20", "connectionLimit: 25");
    let (planned, first) = b.plan("pull-3");
    assert_code(&planned, 2);
    assert_code(&b.apply(&first), 0);
    assert_eq!(connection_limit(lab, "orders_user"), "25");

    let refused = b.apply(&stale);
    assert_code(&refused, 1);
    let said = stderr(&refused);
    assert!(
        said.contains(STALE) && said.contains("plan again"),
        "{}",
        text(&refused)
    );
    assert_eq!(
        lab.databases(),
        ["orders", "scratch"],
        "nothing was applied"
    );

    // Planned again with the other change merged in, it applies, and keeps that change.
    a.edit("connectionLimit: 20", "connectionLimit: 25");
    let (planned, again) = a.plan("pull-2-again");
    assert_code(&planned, 2);
    assert_code(&b.apply(&again), 0);
    assert_eq!(lab.databases(), ["orders", "reports", "scratch"]);
    assert_eq!(connection_limit(lab, "orders_user"), "25");

    // A pull request that changes nothing (exit 0) saves a plan too, and its merge applies
    // nothing. Planned in the checkout that holds the connection secret files: they are local
    // files, which a checkout without them would plan to write.
    std::fs::copy(
        a.path(&format!("{MANIFESTS}/tenants.yaml")),
        b.path(&format!("{MANIFESTS}/tenants.yaml")),
    )
    .unwrap();
    let (planned, nothing) = b.plan("pull-4");
    assert_code(&planned, 0);
    assert_code(&b.apply(&nothing), 0);
    assert_eq!(lab.databases(), ["orders", "reports", "scratch"]);
}

/// The whole flow against one shared state.
fn pull_request_flow(lab: &Lab, state: &SharedState) {
    let a = WorkingCopy::checkout(lab, state, "a");
    let b = WorkingCopy::checkout(lab, state, "b");
    review_and_merge(lab, &a, &b);
    stale_plan_is_refused_and_planning_again_applies(lab, &a, &b);
}

#[test]
fn a_saved_plan_applies_from_another_checkout_and_a_stale_one_is_refused() {
    assert_workflows_run_these_commands();
    let lab = Lab::start_with_tls();
    let state = SharedState::Directory(lab.path("shared-state"));
    pull_request_flow(&lab, &state);
}

#[test]
fn the_pull_request_flow_works_on_a_shared_postgres_state() {
    let lab = Lab::start_with_tls();
    // Over TLS, the server's certificate verified against the test CA.
    let url = lab.postgres_state("pull-requests").replace(
        "sslmode=disable",
        &format!(
            "sslmode=verify-full&sslrootcert={}",
            lab.server.ca_file().display()
        ),
    );
    let state = SharedState::Postgres(url.clone());
    pull_request_flow(&lab, &state);
    // The history says which saved plan each apply used.
    let history = lab.run(&["state", "history", "--state", &url]);
    assert!(
        super::stdout(&history).contains("plan "),
        "{}",
        super::text(&history)
    );
}
