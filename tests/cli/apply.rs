//! `dbplan apply`, `destroy` and `output` against a real PostgreSQL server that the test
//! starts (initdb + pg_ctl in a temporary directory, on a free loopback port).

use crate::{assert_code, text};
use dbplan_testkit::{PgServer, SUPERUSER, SUPERUSER_PASSWORD};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// One tenant of a test manifest.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub name: String,
    pub extensions: Vec<String>,
    pub protected: bool,
    pub delete: bool,
    pub connection_limit: Option<i32>,
    pub format: &'static str,
    pub owner: Option<String>,
    pub database_name: Option<String>,
    /// A `dbplan.io/waive.DB701` reason (a tenant that opts into deletion needs none).
    pub waiver: Option<&'static str>,
}

impl Tenant {
    pub fn new(name: &str) -> Tenant {
        Tenant {
            name: name.to_owned(),
            extensions: Vec::new(),
            protected: false,
            delete: true,
            connection_limit: None,
            format: "env",
            owner: None,
            database_name: None,
            waiver: None,
        }
    }

    fn yaml(&self) -> String {
        // A tenant whose manifest says `deletionProtection: false` and `Delete` has opted
        // into deletion itself; a waiver is only for what it did not opt into (a replace).
        let waiver = match self.waiver {
            Some(reason) => format!("  annotations: {{dbplan.io/waive.DB701: \"{reason}\"}}\n"),
            None => String::new(),
        };
        let mut text = format!(
            "---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: {name}\n{waiver}spec:\n  server: pg\n  deletionProtection: {protected}\n  roleDeletionPolicy: {policy}\n  dbDeletionPolicy: {policy}\n  connectionSecret: {{file: secrets/{name}.{format}, format: {format}}}\n",
            name = self.name,
            protected = self.protected,
            policy = if self.delete { "Delete" } else { "Orphan" },
            format = self.format,
        );
        if !self.extensions.is_empty() {
            text.push_str(&format!("  extensions: [{}]\n", self.extensions.join(", ")));
        }
        if let Some(limit) = self.connection_limit {
            text.push_str(&format!("  connectionLimit: {limit}\n"));
        }
        if let Some(owner) = &self.owner {
            text.push_str(&format!("  owner: {owner}\n"));
        }
        if let Some(database) = &self.database_name {
            text.push_str(&format!("  databaseName: {database}\n"));
        }
        text
    }
}

/// A server, a working directory with manifests and a state, and the `dbplan` binary.
pub struct Lab {
    pub server: PgServer,
    pub directory: tempfile::TempDir,
}

impl Lab {
    pub fn start() -> Lab {
        let server = PgServer::start().unwrap_or_else(|error| panic!("{error}"));
        let directory = tempfile::tempdir().unwrap();
        Lab { server, directory }
    }

    /// The same with a server that also speaks TLS, for manifests that ask for
    /// `sslmode: require` (the shipped examples do).
    pub fn start_with_tls() -> Lab {
        let server = PgServer::start_with_tls().unwrap_or_else(|error| panic!("{error}"));
        let directory = tempfile::tempdir().unwrap();
        Lab { server, directory }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.directory.path().join(relative)
    }

    /// Writes the manifests: the server and these tenants.
    pub fn manifests(&self, tenants: &[Tenant]) {
        let mut text = format!(
            "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: pg\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {port}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n",
            port = self.server.port
        );
        for tenant in tenants {
            text.push_str(&tenant.yaml());
        }
        std::fs::write(self.path("tenants.yaml"), text).unwrap();
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dbplan"));
        command
            .args(args)
            .current_dir(self.directory.path())
            .env("NO_COLOR", "1")
            .env("PG_ADMIN_PASSWORD", SUPERUSER_PASSWORD)
            // A PostgreSQL state's lock, left by a killed apply, frees itself within 2 s.
            .env("DBPLAN_STATE_LEASE", "2")
            .env_remove("RUST_LOG")
            .env_remove("DBPLAN_STATE")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn apply(&self) -> Output {
        self.run(&["apply", "tenants.yaml", "--auto-approve"])
    }

    pub fn sql(&self, database: &str, sql: &str) -> String {
        self.server
            .psql(database, sql)
            .unwrap_or_else(|error| panic!("{error}\n{}", self.server.log()))
    }

    pub fn databases(&self) -> Vec<String> {
        lines(&self.sql(
            "postgres",
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres' ORDER BY 1",
        ))
    }

    pub fn roles(&self) -> Vec<String> {
        lines(&self.sql(
            "postgres",
            "SELECT rolname FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' AND rolname <> current_user ORDER BY 1",
        ))
    }

    /// Logs in over TCP with a password (the server asks for one on TCP) and returns
    /// `current_user`.
    pub fn login(&self, user: &str, password: &str, database: &str) -> Result<String, String> {
        let bin = dbplan_testkit::pg_bin().unwrap();
        let output = Command::new(bin.join("psql"))
            .args(["-X", "-A", "-t", "-h", "127.0.0.1"])
            .args([
                "-p",
                &self.server.port.to_string(),
                "-U",
                user,
                "-d",
                database,
            ])
            .args(["-c", "SELECT current_user"])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .output()
            .unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// The `KEY=value` pairs of an env connection secret.
    pub fn env_secret(&self, name: &str) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.path(&format!("secrets/{name}.env"))).unwrap();
        text.lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
            .collect()
    }
}

/// How long a test waits for something it can observe (a session on the server, a line from
/// `dbplan`) before it fails, saying what it waited for, instead of hanging.
const OBSERVE_DEADLINE: Duration = Duration::from_secs(120);

impl Lab {
    /// Waits until `sql` (run as the superuser) answers `t`: a condition the server can be
    /// asked about, such as a session in `pg_stat_activity`. `alive` is checked between polls
    /// and ends the wait with its own failure (the process that should show up has exited).
    /// Fails the test with `what` and the server log after [`OBSERVE_DEADLINE`].
    pub(crate) fn wait_until_server_shows(&self, what: &str, sql: &str, mut alive: impl FnMut()) {
        let deadline = std::time::Instant::now() + OBSERVE_DEADLINE;
        loop {
            if self.sql("postgres", sql) == "t" {
                return;
            }
            alive();
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not show {what} within {} s:\n{}",
                OBSERVE_DEADLINE.as_secs(),
                self.server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A superuser session (`psql` on the Unix socket) that ran `statements` in a transaction
    /// it keeps open, so that what they wrote stays uncommitted: another session writing the
    /// same row waits for it. Returns once the server shows the transaction open with every
    /// statement run.
    pub(crate) fn hold_in_a_transaction(&self, statements: &[String]) -> Held {
        let bin = dbplan_testkit::pg_bin().unwrap();
        let mut child = Command::new(bin.join("psql"))
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(self.server.socket_directory())
            .args([
                "-p",
                &self.server.port.to_string(),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
            ])
            .env("PGAPPNAME", HOLDER)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().expect("stdin is piped");
        use std::io::Write;
        writeln!(input, "BEGIN;").unwrap();
        for statement in statements {
            writeln!(input, "{statement};").unwrap();
        }
        // The last statement names itself, so the server can say when every one has run.
        writeln!(input, "SELECT 'every statement ran';").unwrap();
        input.flush().unwrap();
        self.wait_until_server_shows(
            "the held transaction",
            &format!(
                "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = '{HOLDER}' AND state = 'idle in transaction' AND query LIKE 'SELECT ''every statement ran''%'"
            ),
            || {
                if let Some(status) = child.try_wait().unwrap() {
                    let mut error = String::new();
                    use std::io::Read;
                    let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut error));
                    panic!("the holding psql ended ({status}): {error}");
                }
            },
        );
        Held {
            child,
            input: Some(input),
        }
    }
}

/// `application_name` of the session [`Lab::hold_in_a_transaction`] opens.
const HOLDER: &str = "dbplan-test-holder";

/// A transaction kept open by [`Lab::hold_in_a_transaction`]; [`Held::roll_back`] ends it
/// (dropping it kills the session, which rolls back too).
pub(crate) struct Held {
    child: std::process::Child,
    input: Option<std::process::ChildStdin>,
}

impl Held {
    pub(crate) fn roll_back(mut self) {
        use std::io::Write;
        let mut input = self.input.take().expect("the session is open");
        writeln!(input, "ROLLBACK;").unwrap();
        drop(input);
        let status = self.child.wait().unwrap();
        assert!(status.success(), "the holding psql ended with {status}");
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The lines a child writes to a pipe, as they come, read by a thread of their own; every line
/// is also kept for [`Lines::rest`].
pub(crate) struct Lines {
    receiver: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    pub(crate) fn read(pipe: impl std::io::Read + Send + 'static) -> Lines {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            receiver,
            seen: Vec::new(),
        }
    }

    /// Waits for the next line that `wanted` accepts and returns it; `None` when the pipe
    /// closed first (the child ended). Fails the test after [`OBSERVE_DEADLINE`].
    pub(crate) fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = std::time::Instant::now() + OBSERVE_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.receiver.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if wanted(&line) {
                        return Some(line);
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
                    "no {what} within {} s; so far:\n{}",
                    OBSERVE_DEADLINE.as_secs(),
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line, once the pipe has closed.
    pub(crate) fn rest(mut self) -> String {
        while self.until("end of output", |_| false).is_some() {}
        self.seen.join("\n")
    }
}

/// Whether a line of apply's stderr is progress: a step that starts (`ADDR: creating…`) or
/// ends (`ADDR: created after 0.1s`).
pub(crate) fn is_progress(line: &str) -> bool {
    line.starts_with("TenantDatabase/") || line.starts_with("PostgresServer/")
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

pub(crate) fn value<'a>(pairs: &'a [(String, String)], key: &str) -> &'a str {
    pairs
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.as_str())
        .unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn apply_from_empty_logs_in_and_converges() {
    let lab = Lab::start();
    let mut billing = Tenant::new("billing");
    billing.extensions = vec!["pgcrypto".to_owned(), "uuid-ossp".to_owned()];
    billing.connection_limit = Some(7);
    let mut reports = Tenant::new("reports");
    reports.format = "json";
    lab.manifests(&[billing, reports]);

    let applied = lab.apply();
    assert_code(&applied, 0);
    assert!(super::stdout(&applied).contains("Apply complete: 7 created"));
    assert_eq!(lab.databases(), ["billing", "reports"]);
    assert_eq!(lab.roles(), ["billing_user", "reports_user"]);
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'billing'"
        ),
        "billing_user"
    );
    assert_eq!(
        lab.sql("billing", "SELECT string_agg(extname, ',' ORDER BY extname) FROM pg_extension WHERE extname <> 'plpgsql'"),
        "pgcrypto,uuid-ossp"
    );
    assert_eq!(
        lab.sql("postgres", "SELECT rolconnlimit, rolsuper, rolcreatedb FROM pg_roles WHERE rolname = 'billing_user'"),
        "7\tf\tf"
    );
    // PUBLIC may not connect to a tenant's database; its owner may.
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT has_database_privilege('reports_user', 'billing', 'CONNECT')"
        ),
        "f"
    );

    // The secret files: mode 0600, every key, and credentials that log in.
    let secret = lab.env_secret("billing");
    let mode = std::fs::metadata(lab.path("secrets/billing.env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    for key in [
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "username",
        "password",
        "endpoint",
        "port",
    ] {
        assert!(!value(&secret, key).is_empty(), "{key} is empty");
    }
    let password = value(&secret, "DB_PASSWORD").to_owned();
    assert_eq!(password.len(), 32);
    assert_eq!(value(&secret, "DB_USER"), "billing_user");
    assert_eq!(value(&secret, "DB_PORT"), lab.server.port.to_string());
    assert_eq!(
        lab.login("billing_user", &password, "billing").unwrap(),
        "billing_user"
    );
    assert!(
        lab.login("billing_user", "wrong-password", "billing")
            .is_err()
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lab.path("secrets/reports.json")).unwrap())
            .unwrap();
    assert_eq!(
        lab.login(
            json["username"].as_str().unwrap(),
            json["password"].as_str().unwrap(),
            json["DB_NAME"].as_str().unwrap()
        )
        .unwrap(),
        "reports_user"
    );
    // The URI logs in too.
    let bin = dbplan_testkit::pg_bin().unwrap();
    let uri = value(&secret, "DATABASE_URL");
    let status = Command::new(bin.join("psql"))
        .args(["-X", "-A", "-t", uri, "-c", "SELECT 1"])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", super::stderr(&status));

    // No secret anywhere: not in dbplan's output, not in the server's statement log (the
    // password is sent as a SCRAM verifier).
    assert!(!text(&applied).contains(&password));
    assert!(!lab.server.log().contains(&password));
    assert!(!text(&applied).contains(SUPERUSER_PASSWORD));

    // A second plan finds nothing to do, after a real refresh.
    let again = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&again, 0);
    assert!(
        super::stdout(&again).contains("No changes"),
        "{}",
        text(&again)
    );

    // `output`: sensitive values hidden unless asked for.
    let outputs = lab.run(&["output", "TenantDatabase/billing"]);
    assert_code(&outputs, 0);
    let listed = super::stdout(&outputs);
    assert!(listed.contains("TenantDatabase/billing/database.password = (sensitive)"));
    assert!(listed.contains("TenantDatabase/billing/database.username = billing_user"));
    assert!(!listed.contains(&password));
    let refused = lab.run(&["output", "TenantDatabase/billing/database", "password"]);
    assert_code(&refused, 1);
    let shown = lab.run(&[
        "output",
        "TenantDatabase/billing/database",
        "password",
        "--show-sensitive",
    ]);
    assert_code(&shown, 0);
    assert_eq!(super::stdout(&shown).trim(), password);
}

#[test]
fn drift_is_detected_and_repaired_and_updates_apply_in_place() {
    let lab = Lab::start();
    let mut shop = Tenant::new("shop");
    shop.extensions = vec!["pgcrypto".to_owned()];
    lab.manifests(&[shop.clone(), Tenant::new("blog")]);
    assert_code(&lab.apply(), 0);

    // Out of band: the owner changed, an extension dropped, a role dropped.
    lab.sql(
        "postgres",
        "CREATE ROLE intruder; ALTER DATABASE shop OWNER TO intruder",
    );
    lab.sql("shop", "DROP EXTENSION pgcrypto");
    lab.sql(
        "blog",
        "REASSIGN OWNED BY blog_user TO intruder; DROP OWNED BY blog_user",
    );
    lab.sql(
        "postgres",
        "REASSIGN OWNED BY blog_user TO intruder; DROP OWNED BY blog_user; DROP ROLE blog_user",
    );
    let planned = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&planned, 2);
    let shown = super::stdout(&planned);
    assert!(shown.contains("owner"), "{shown}");
    assert!(
        shown.contains("TenantDatabase/shop/database will be updated in place"),
        "{shown}"
    );
    assert!(
        shown.contains("TenantDatabase/blog/role will be created"),
        "{shown}"
    );
    let json = lab.run(&["plan", "tenants.yaml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&super::stdout(&json)).unwrap();
    let drifted: Vec<&str> = json["resource_drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|drift| drift["address"].as_str().unwrap())
        .collect();
    assert!(drifted.contains(&"TenantDatabase/shop/database"), "{json}");
    assert!(drifted.contains(&"TenantDatabase/blog/role"), "{json}");

    assert_code(&lab.apply(), 0);
    assert_eq!(
        lab.sql("postgres", "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('shop', 'blog') ORDER BY datname"),
        "blog_user\nshop_user"
    );
    assert_eq!(
        lab.sql(
            "shop",
            "SELECT count(*) FROM pg_extension WHERE extname = 'pgcrypto'"
        ),
        "1"
    );
    let secret = lab.env_secret("blog");
    assert_eq!(
        lab.login("blog_user", value(&secret, "DB_PASSWORD"), "blog")
            .unwrap(),
        "blog_user"
    );
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );

    // An in-place update: a connection limit and one more extension.
    shop.connection_limit = Some(3);
    shop.extensions.push("citext".to_owned());
    lab.manifests(&[shop, Tenant::new("blog")]);
    let planned = lab.run(&["plan", "tenants.yaml"]);
    let shown = super::stdout(&planned);
    assert!(
        shown.contains("TenantDatabase/shop/role will be updated in place"),
        "{shown}"
    );
    assert!(!shown.contains("replaced"), "{shown}");
    assert_code(&lab.apply(), 0);
    assert_eq!(
        lab.sql(
            "postgres",
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'shop_user'"
        ),
        "3"
    );
    assert_eq!(
        lab.sql(
            "shop",
            "SELECT count(*) FROM pg_extension WHERE extname = 'citext'"
        ),
        "1"
    );
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

#[test]
fn destroy_orphans_or_drops_per_policy_and_honours_deletion_protection() {
    let lab = Lab::start();
    let mut kept = Tenant::new("kept");
    kept.delete = false;
    let dropped = Tenant::new("dropped");
    let mut guarded = Tenant::new("guarded");
    guarded.protected = true;
    lab.manifests(&[kept.clone(), dropped.clone(), guarded]);
    assert_code(&lab.apply(), 0);

    // Deletion protection on a database whose policy is Delete blocks the destroy, and
    // nothing is touched.
    let refused = lab.run(&["destroy", "tenants.yaml", "--auto-approve"]);
    assert_code(&refused, 1);
    assert!(
        text(&refused).contains("TenantDatabase/guarded/database has deletion protection on"),
        "{}",
        text(&refused)
    );
    assert_eq!(lab.databases(), ["dropped", "guarded", "kept"]);

    // Without the protected tenant, destroy orphans one tenant and drops the other.
    lab.manifests(&[kept, dropped]);
    let targets = [
        "--target",
        "TenantDatabase/kept",
        "--target",
        "TenantDatabase/dropped",
    ];
    let planned = lab.run(&[&["plan", "tenants.yaml", "--destroy"][..], &targets].concat());
    let shown = super::stdout(&planned);
    assert!(
        shown.contains(
            "TenantDatabase/kept/database will be removed from the state and left in place"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("TenantDatabase/dropped/database will be destroyed"),
        "{shown}"
    );
    assert!(!shown.contains("guarded"), "{shown}");
    // A session on the database to drop: destroy ends it first.
    let secret = lab.env_secret("dropped");
    let password = value(&secret, "DB_PASSWORD").to_owned();
    let bin = dbplan_testkit::pg_bin().unwrap();
    let mut session = Command::new(bin.join("psql"))
        .args(["-X", "-h", "127.0.0.1", "-p", &lab.server.port.to_string()])
        .args([
            "-U",
            "dropped_user",
            "-d",
            "dropped",
            "-c",
            "SELECT pg_sleep(60)",
        ])
        .env("PGPASSWORD", &password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The server says when the session is in: its query runs.
    lab.wait_until_server_shows(
        "the session on `dropped` running pg_sleep",
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = 'dropped' AND usename = 'dropped_user' AND state = 'active' AND query = 'SELECT pg_sleep(60)'",
        || {
            if let Some(status) = session.try_wait().unwrap() {
                panic!("psql ended before its session showed: {status}");
            }
        },
    );
    let destroyed =
        lab.run(&[&["destroy", "tenants.yaml", "--auto-approve"][..], &targets].concat());
    let _ = session.kill();
    let _ = session.wait();
    assert_code(&destroyed, 0);
    assert_eq!(lab.databases(), ["guarded", "kept"]);
    assert_eq!(lab.roles(), ["guarded_user", "kept_user"]);
    // Orphan leaves the connection secret; Delete removes it.
    assert!(lab.path("secrets/kept.env").exists());
    assert!(!lab.path("secrets/dropped.env").exists());
    let listed = super::stderr(&lab.run(&["state", "list"]));
    let listed = format!("{listed}{}", super::stdout(&lab.run(&["state", "list"])));
    assert!(!listed.contains("TenantDatabase/kept"), "{listed}");
    assert!(!listed.contains("TenantDatabase/dropped"), "{listed}");
    assert!(
        listed.contains("TenantDatabase/guarded/database"),
        "{listed}"
    );
}

#[test]
fn a_failure_midway_lets_independent_tenants_finish_then_converges() {
    let lab = Lab::start();
    let mut broken = Tenant::new("broken");
    broken.extensions = vec!["no_such_extension".to_owned()];
    let tenants = [Tenant::new("first"), broken, Tenant::new("second")];
    lab.manifests(&tenants);
    let applied = lab.apply();
    assert_code(&applied, 1);
    let shown = text(&applied);
    assert!(shown.contains("no_such_extension"), "{shown}");
    assert!(shown.contains("1 failed, 1 skipped"), "{shown}");
    assert!(
        shown.contains("create TenantDatabase/broken/connection-secret: skipped"),
        "{shown}"
    );
    // The independent tenants are complete.
    for name in ["first", "second"] {
        let secret = lab.env_secret(name);
        assert_eq!(
            lab.login(&format!("{name}_user"), value(&secret, "DB_PASSWORD"), name)
                .unwrap(),
            format!("{name}_user")
        );
    }
    assert!(!lab.path("secrets/broken.env").exists());
    // The failed database is recorded pending: the next plan shows it and apply adopts it.
    let planned = lab.run(&["plan", "tenants.yaml"]);
    assert!(
        super::stdout(&planned).contains("pending"),
        "{}",
        text(&planned)
    );

    let mut fixed = Tenant::new("broken");
    fixed.extensions = vec!["pgcrypto".to_owned()];
    lab.manifests(&[Tenant::new("first"), fixed, Tenant::new("second")]);
    assert_code(&lab.apply(), 0);
    assert_eq!(lab.databases(), ["broken", "first", "second"]);
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

#[test]
fn hostile_names_are_rejected_before_anything_runs() {
    let lab = Lab::start();
    let before_log = lab.server.log().len();
    for (field, value) in [
        ("databaseName", "'x\"; DROP DATABASE postgres; --'"),
        ("databaseName", "template1"),
        ("databaseName", &"a".repeat(64)),
        ("owner", "postgres"),
        ("owner", "'evil; DROP ROLE x'"),
    ] {
        let text_manifest = format!(
            "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: pg\n  annotations:\n    dbplan.io/waive.DB204: \"throwaway server on the loopback interface of the test machine\"\nspec:\n  host: 127.0.0.1\n  port: {}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: disable\n---\napiVersion: dbplan.io/v1\nkind: TenantDatabase\nmetadata:\n  name: hostile\nspec:\n  server: pg\n  {field}: {value}\n",
            lab.server.port
        );
        std::fs::write(lab.path("tenants.yaml"), text_manifest).unwrap();
        let applied = lab.apply();
        assert_code(&applied, 1);
        assert!(
            text(&applied).contains("tenants.yaml:"),
            "{}",
            text(&applied)
        );
    }
    // Nothing reached the server: no database, no role, and no statement from dbplan in its
    // log (every statement is logged, prefixed with the application name).
    assert!(lab.databases().is_empty());
    assert!(lab.roles().is_empty());
    let log = lab.server.log();
    assert!(
        !log[before_log..].contains("dbplan:"),
        "{}",
        &log[before_log..]
    );
}

#[test]
fn apply_without_a_terminal_needs_auto_approve_and_a_saved_plan_applies_as_reviewed() {
    let lab = Lab::start();
    lab.manifests(&[Tenant::new("one")]);
    let refused = lab.run(&["apply", "tenants.yaml"]);
    assert_code(&refused, 1);
    assert!(text(&refused).contains("--auto-approve"));
    assert!(lab.databases().is_empty());

    let planned = lab.run(&["plan", "tenants.yaml", "--out", "reviewed.plan"]);
    assert_code(&planned, 0);
    // A plan file changed after review is refused.
    let reviewed = std::fs::read_to_string(lab.path("reviewed.plan")).unwrap();
    std::fs::write(
        lab.path("tampered.plan"),
        reviewed.replacen("\"one\"", "\"oner\"", 1),
    )
    .unwrap();
    let tampered = lab.run(&["apply", "tampered.plan"]);
    assert_code(&tampered, 1);
    assert!(lab.databases().is_empty(), "{}", text(&tampered));
    let applied = lab.run(&["apply", "reviewed.plan"]);
    assert_code(&applied, 0);
    assert_eq!(lab.databases(), ["one"]);
    // Applied once, the plan is stale.
    let again = lab.run(&["apply", "reviewed.plan"]);
    assert_code(&again, 1);
    assert!(text(&again).contains("stale"), "{}", text(&again));

    // A secret whose value changed since the plan is refused, without being printed, and
    // nothing is applied; with the value reviewed, the same plan applies.
    let fresh = Lab::start();
    fresh.manifests(&[Tenant::new("two")]);
    assert_code(
        &fresh.run(&["plan", "tenants.yaml", "--out", "first.plan"]),
        0,
    );
    let changed = fresh
        .command(&["apply", "first.plan"])
        .env("PG_ADMIN_PASSWORD", "another-password")
        .output()
        .unwrap();
    assert_code(&changed, 1);
    assert!(
        text(&changed).contains("PG_ADMIN_PASSWORD differs from the one the plan was made with"),
        "{}",
        text(&changed)
    );
    assert!(!text(&changed).contains("another-password"));
    assert!(fresh.databases().is_empty());
    // Applied at the most verbose log level, nothing secret is printed either.
    let traced = fresh
        .command(&["apply", "first.plan"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert_code(&traced, 0);
    assert_eq!(fresh.databases(), ["two"]);
    let password = value(&fresh.env_secret("two"), "DB_PASSWORD").to_owned();
    let printed = text(&traced);
    assert!(
        printed.contains("TRACE") || printed.contains("DEBUG"),
        "{printed}"
    );
    for secret in [password.as_str(), SUPERUSER_PASSWORD] {
        assert!(
            !printed.contains(secret),
            "a secret was printed:\n{printed}"
        );
        assert!(
            !std::fs::read_to_string(fresh.path("first.plan"))
                .unwrap()
                .contains(secret)
        );
    }
}

#[test]
fn the_first_interrupt_finishes_work_in_flight_and_saves_the_state() {
    let lab = Lab::start();
    let tenants: Vec<Tenant> = (0..8)
        .map(|index| {
            let mut tenant = Tenant::new(&format!("int{index}"));
            tenant.extensions = vec!["pgcrypto".to_owned()];
            tenant
        })
        .collect();
    lab.manifests(&tenants);
    // Every tenant's role created, uncommitted, in a transaction of the test's own: whichever
    // role apply creates first waits for that transaction, so a step is surely in flight when
    // the interrupt comes, and it stays in flight until the test lets it go. Plans do not wait
    // (they read committed rows only).
    let held = lab.hold_in_a_transaction(
        &tenants
            .iter()
            .map(|tenant| format!("CREATE ROLE {}_user", tenant.name))
            .collect::<Vec<_>>(),
    );
    let mut child = lab
        .command(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--parallelism",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = Lines::read(child.stdout.take().expect("stdout is piped"));
    let mut stderr = Lines::read(child.stderr.take().expect("stderr is piped"));
    // Interrupt once the server shows apply's session waiting for the held role: apply is
    // under way (its Ctrl-C handler is installed) and one step is in flight. Not after a fixed
    // delay: on a loaded machine planning alone can take longer than any fixed delay, and a
    // Ctrl-C during planning ends the process before anything started.
    lab.wait_until_server_shows(
        "apply's session waiting for the held role",
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'dbplan' AND wait_event_type = 'Lock'",
        || {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("apply ended before it waited for the held role: {status}");
            }
        },
    );
    let signalled = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    // apply says it took the interrupt; only then is the step in flight let go.
    let taken = stderr.until("line saying the interrupt was taken", |line| {
        line.contains("interrupted: finishing the work in flight")
    });
    assert!(taken.is_some(), "apply ended without taking the interrupt");
    held.roll_back();
    let status = child.wait().unwrap();
    let shown = format!("{}\n{}", stdout.rest(), stderr.rest());
    assert_eq!(status.code(), Some(1), "{shown}");
    assert!(
        shown.contains("interrupted: finishing the work in flight"),
        "{shown}"
    );
    assert!(shown.contains("Apply interrupted:"), "{shown}");
    assert!(shown.contains("not started"), "{shown}");
    // The step in flight finished: its role exists, as one of the eight.
    assert_eq!(
        lab.roles()
            .iter()
            .filter(|role| role.starts_with("int"))
            .count(),
        1,
        "{shown}"
    );
    // The lock was released and nothing is left pending: the next apply converges.
    let listed = lab.run(&["state", "list"]);
    assert_code(&listed, 0);
    assert!(
        !super::stdout(&listed).contains("pending"),
        "{}",
        text(&listed)
    );
    assert_code(&lab.apply(), 0);
    assert_eq!(lab.databases().len(), 8);
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );
}

/// Kills `dbplan apply` with SIGKILL at pseudo-random points of a multi-tenant apply (right
/// after one of the progress lines it writes as steps start and end), many times; after each kill, unlock, re-plan and re-apply must converge: every database, role,
/// secret and state record exactly once, every secret logs in, and `dbplan state check` finds
/// the state, its head and its backups good. `DBPLAN_CRASH_KILLS` sets how many kills must land
/// while apply runs (default 20; `scripts/crash-test.sh` runs 100), in at most twice as many
/// runs; the figure is printed at the end (`--no-capture` shows it).
#[test]
fn sigkill_during_apply_never_loses_or_duplicates_anything() {
    crash_test(&Lab::start(), CrashState::Local);
}

/// Where [`crash_test`] keeps each run's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrashState {
    /// A directory per run; a killed apply's lock is removed with `state unlock`.
    Local,
    /// A state per run in the lab server's `dbplan` schema; a killed apply's lock is freed by
    /// its lease (2 s in [`Lab::command`]), which the next apply waits out.
    Postgres,
}

impl CrashState {
    /// Kills in flight when `DBPLAN_CRASH_KILLS` is not set: fewer for PostgreSQL, whose
    /// killed runs also wait out a lease.
    fn default_kills(self) -> usize {
        match self {
            CrashState::Local => 20,
            CrashState::Postgres => 10,
        }
    }

    pub(crate) fn of(self, lab: &Lab, run: &str) -> String {
        match self {
            CrashState::Local => format!("state-{run}"),
            CrashState::Postgres => lab.postgres_state(&format!("run-{run}")),
        }
    }
}

impl Lab {
    /// The URL of state `name` in the lab server (its password from `PG_ADMIN_PASSWORD`).
    pub fn postgres_state(&self, name: &str) -> String {
        format!(
            "postgres://{SUPERUSER}@127.0.0.1:{}/postgres?sslmode=disable&password_env=PG_ADMIN_PASSWORD&state={name}",
            self.server.port
        )
    }

    /// `apply` with `args`, tried again while a PostgreSQL state is locked by a killed apply
    /// whose lease has not run out yet (at most 30 s).
    pub fn apply_when_unlocked(&self, args: &[&str]) -> Output {
        let started = std::time::Instant::now();
        loop {
            let output = self.run(args);
            if output.status.code() == Some(1)
                && super::stderr(&output).contains("whose lease runs until")
                && started.elapsed() < Duration::from_secs(30)
            {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            return output;
        }
    }
}

/// The body of the crash tests: many applies, each killed at a pseudo-random progress line,
/// each followed by a converging apply and the checks described above.
// Long: the calibration, the kill loop and the per-object accounting of one crash test, kept
// together so that the figure printed at the end counts exactly what the loop checked.
pub(crate) fn crash_test(lab: &Lab, kind: CrashState) {
    // Runs go on until this many kills landed while apply was running (a kill after apply
    // finished proves nothing), up to `max_runs`.
    let in_flight: usize = match std::env::var("DBPLAN_CRASH_KILLS") {
        Err(_) => kind.default_kills(),
        Ok(text) => text
            .trim()
            .parse()
            .ok()
            .filter(|kills| *kills > 0)
            .unwrap_or_else(|| {
                panic!(
                    "DBPLAN_CRASH_KILLS is {text:?}; set it to a whole number of kills, at least 1"
                )
            }),
    };
    let max_runs = 2 * in_flight as u64;
    const TENANTS: usize = 6;
    let mut outcomes = Vec::new();
    // Every object checked after a converged run, and how many of them were missing (lost)
    // or there more than once or unexpected (duplicated).
    let mut checked = 0_usize;
    let mut lost = 0_usize;
    let mut duplicated = 0_usize;
    let tenants_of = |run: &str| -> Vec<Tenant> {
        (0..TENANTS)
            .map(|index| {
                let mut tenant = Tenant::new(&format!("r{run}_t{index}"));
                if index % 2 == 0 {
                    tenant.extensions = vec!["pgcrypto".to_owned()];
                }
                tenant
            })
            .collect()
    };
    // One uninterrupted apply counts the progress lines a whole run writes (one when a step
    // starts, one when it ends), so that the kill points fall inside a run: after progress
    // line `k` of them, 1 <= k < all, apply still has at least one line to write, so it is
    // still running (the kill lands while it works, however fast or slow the machine is).
    lab.manifests(&tenants_of("cal"));
    let calibration = lab.run(&[
        "apply",
        "tenants.yaml",
        "--auto-approve",
        "--parallelism",
        "4",
        "--state",
        &kind.of(lab, "cal"),
    ]);
    assert_code(&calibration, 0);
    let progress_lines = super::stderr(&calibration)
        .lines()
        .filter(|line| is_progress(line))
        .count();
    assert!(
        progress_lines >= 2,
        "a whole apply wrote {progress_lines} progress lines:\n{}",
        text(&calibration)
    );
    assert_code(
        &lab.run(&["state", "check", "--state", &kind.of(lab, "cal")]),
        0,
    );
    // A fixed linear congruential sequence: the kill points differ from one kill to the
    // next, and are the same in every test run.
    let mut seed: u64 = 0x5eed_0fdb_91a4;
    let mut run: u64 = 0;
    while outcomes
        .iter()
        .filter(|line: &&String| line.contains("in flight"))
        .count()
        < in_flight
        && run < max_runs
    {
        run += 1;
        let state = kind.of(lab, &run.to_string());
        let tenants = tenants_of(&run.to_string());
        lab.manifests(&tenants);
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let kill_after = 1 + (seed >> 33) as usize % (progress_lines - 1);
        let mut child = lab
            .command(&[
                "apply",
                "tenants.yaml",
                "--auto-approve",
                "--parallelism",
                "4",
                "--state",
                &state,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Up to the kill point, line by line; an apply that ends first (its output closes)
        // was not killed in flight, and the outcome says so.
        let mut progress = Lines::read(child.stderr.take().expect("stderr is piped"));
        let reached =
            (0..kill_after).all(|_| progress.until("progress line", is_progress).is_some());
        let killed = reached && child.try_wait().unwrap().is_none();
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        drop(progress);
        if killed && kind == CrashState::Local {
            let unlocked = lab.run(&["state", "unlock", "--state", &state]);
            assert_code(&unlocked, 0);
        }
        let applied = lab.apply_when_unlocked(&[
            "apply",
            "tenants.yaml",
            "--auto-approve",
            "--state",
            &state,
        ]);
        assert_code(&applied, 0);
        let planned = lab.run(&[
            "plan",
            "tenants.yaml",
            "--detailed-exitcode",
            "--state",
            &state,
        ]);
        assert_code(&planned, 0);
        // The database, its head mirror and every backup are good.
        let state_checked = lab.run(&["state", "check", "--state", &state]);
        assert_code(&state_checked, 0);
        // Each object exactly once: what is there against what must be.
        let prefix = format!("r{run}_");
        let with_prefix = |names: Vec<String>| -> Vec<String> {
            names
                .into_iter()
                .filter(|name| name.starts_with(&prefix))
                .collect()
        };
        let secret_files: Vec<String> = std::fs::read_dir(lab.path("secrets"))
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        let listed = lab.run(&["state", "list", "--state", &state]);
        assert_code(&listed, 0);
        let records: Vec<String> = super::stdout(&listed).lines().map(str::to_owned).collect();
        let mut expected_records = vec!["PostgresServer/pg".to_owned()];
        for tenant in &tenants {
            for part in ["connection-secret", "database", "role"] {
                expected_records.push(format!("TenantDatabase/{}/{part}", tenant.name));
            }
        }
        for (what, expected, found) in [
            (
                "databases",
                tenants.iter().map(|t| t.name.clone()).collect::<Vec<_>>(),
                with_prefix(lab.databases()),
            ),
            (
                "roles",
                tenants.iter().map(|t| format!("{}_user", t.name)).collect(),
                with_prefix(lab.roles()),
            ),
            (
                "secret files",
                tenants.iter().map(|t| format!("{}.env", t.name)).collect(),
                with_prefix(secret_files),
            ),
            ("state records", expected_records, records),
        ] {
            let missing: Vec<&String> = expected
                .iter()
                .filter(|name| !found.contains(name))
                .collect();
            let mut extra = found.clone();
            for name in &expected {
                if let Some(position) = extra.iter().position(|found| found == name) {
                    extra.remove(position);
                }
            }
            checked += found.len();
            lost += missing.len();
            duplicated += extra.len();
            assert!(
                missing.is_empty() && extra.is_empty(),
                "run {run}: {what}: missing {missing:?}, duplicated or unexpected {extra:?}"
            );
        }
        for tenant in &tenants {
            let secret = lab.env_secret(&tenant.name);
            assert_eq!(
                lab.login(
                    &format!("{}_user", tenant.name),
                    value(&secret, "DB_PASSWORD"),
                    &tenant.name
                )
                .unwrap_or_else(|error| panic!("run {run}: {}: {error}", tenant.name)),
                format!("{}_user", tenant.name)
            );
        }
        let outcome = format!(
            "run {run}: killed after progress line {kill_after} of {progress_lines} {}",
            if killed {
                "(in flight)"
            } else {
                "(had finished)"
            }
        );
        // Progress, for long runs (`--no-capture` shows it as it goes).
        eprintln!("{outcome}: converged");
        outcomes.push(outcome);
    }
    let killed = outcomes
        .iter()
        .filter(|line| line.contains("in flight"))
        .count();
    eprintln!(
        "crash test ({kind:?} state): {killed} kills landed in flight in {run} runs; {checked} objects checked (databases, roles, secret files, state records); lost {lost}, duplicated {duplicated}; every state checked good"
    );
    assert!(
        killed >= in_flight,
        "only {killed} of {run} runs were killed in flight: {outcomes:?}"
    );
}

/// On a terminal (`script` gives the command one), apply asks and applies only after `yes`.
#[test]
fn on_a_terminal_apply_asks_and_applies_only_after_yes() {
    let lab = Lab::start();
    lab.manifests(&[Tenant::new("asked")]);
    let on_terminal = |answer: &str| {
        let mut child = Command::new("script")
            .args([
                "-qec",
                &format!("{} apply tenants.yaml", env!("CARGO_BIN_EXE_dbplan")),
                "/dev/null",
            ])
            .current_dir(lab.directory.path())
            .env("NO_COLOR", "1")
            .env("PG_ADMIN_PASSWORD", SUPERUSER_PASSWORD)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{answer}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let declined = on_terminal("no");
    assert_code(&declined, 1);
    assert!(
        text(&declined).contains("Only 'yes' is accepted"),
        "{}",
        text(&declined)
    );
    assert!(text(&declined).contains("cancelled"), "{}", text(&declined));
    assert!(lab.databases().is_empty());
    let accepted = on_terminal("yes");
    assert_code(&accepted, 0);
    assert!(
        text(&accepted).contains("Apply complete"),
        "{}",
        text(&accepted)
    );
    assert_eq!(lab.databases(), ["asked"]);
}

/// A TCP forwarder standing in for an SSH or SSM tunnel: it listens on a port of its own and
/// carries every connection to `target`, counting them.
pub struct Tunnel {
    pub port: u16,
    connections: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Tunnel {
    pub fn to(target: u16) -> Tunnel {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = std::sync::Arc::clone(&connections);
        std::thread::spawn(move || {
            for client in listener.incoming().map_while(Result::ok) {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // A server that is gone closes the client's connection, as a tunnel does.
                let Ok(server) = std::net::TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let pipe = |mut from: std::net::TcpStream, mut to: std::net::TcpStream| {
                    std::thread::spawn(move || {
                        // Either side closing ends the copy; the other side is then shut down.
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                };
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Tunnel { port, connections }
    }

    pub fn used(&self) -> usize {
        self.connections.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A server reached through a tunnel (`connect_via`): apply makes the tenant through it, with
/// `verify-full` against the server's own name (which resolves nowhere); the connection secret
/// points at that name; a re-plan is a no-op; another local port is an in-place update of the
/// server's record alone; and a bad `connect_via` is an error at its place in the manifest.
#[test]
fn a_server_behind_a_tunnel_is_reached_through_connect_via() {
    let lab = Lab::start_with_tls();
    let ca = lab.server.ca_file();
    let write = |via_host: &str, via_port: u16| {
        let text = format!(
            "apiVersion: dbplan.io/v1\nkind: PostgresServer\nmetadata:\n  name: pg\nspec:\n  host: {name}\n  adminUser: {SUPERUSER}\n  adminPassword: {{secretEnv: PG_ADMIN_PASSWORD}}\n  sslmode: verify-full\n  sslrootcert: {ca}\n  connectVia: {{host: \"{via_host}\", port: {via_port}}}\n{tenant}",
            name = dbplan_testkit::TLS_ONLY_NAME,
            ca = ca.display(),
            tenant = Tenant::new("app").yaml(),
        );
        std::fs::write(lab.path("tenants.yaml"), text).unwrap();
    };
    let first = Tunnel::to(lab.server.port);
    write("127.0.0.1", first.port);
    let applied = lab.apply();
    assert_code(&applied, 0);
    assert!(first.used() > 0, "apply went through the tunnel");
    assert_eq!(lab.roles(), ["app_user"]);
    let secret = lab.env_secret("app");
    let value = |key: &str| {
        secret
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("{key} in {secret:?}"))
    };
    // The applications inside the network use the server's own address, not the tunnel's.
    assert_eq!(value("DB_HOST"), dbplan_testkit::TLS_ONLY_NAME);
    assert_eq!(value("DB_PORT"), "5432");

    let replanned = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&replanned, 0);

    // Another local port (the tunnel started again elsewhere): the server's record is updated
    // in place, nothing of the tenant changes, and the next apply goes through the new port.
    let second = Tunnel::to(lab.server.port);
    write("127.0.0.1", second.port);
    let moved = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]);
    assert_code(&moved, 2);
    let said = super::stdout(&moved);
    assert!(said.contains("~ PostgresServer/pg"), "{said}");
    assert!(said.contains("connect_via"), "{said}");
    assert!(
        said.contains("Plan: 0 to create, 1 to update, 0 to replace"),
        "{said}"
    );
    assert_code(&lab.apply(), 0);
    assert!(
        second.used() > 0,
        "the second apply went through the new tunnel"
    );
    assert_code(
        &lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"]),
        0,
    );

    // A host with a port in it is an error at its place, with what to write instead.
    write("127.0.0.1 15432", second.port);
    let refused = lab.run(&["validate", "tenants.yaml"]);
    assert_code(&refused, 1);
    let said = text(&refused);
    assert!(said.contains("tenants.yaml:11:22"), "{said}");
    assert!(
        said.contains("the port goes in its own `port` field"),
        "{said}"
    );
}
