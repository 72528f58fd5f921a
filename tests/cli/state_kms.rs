//! Encryption at rest under AWS KMS (moto's KMS), through `dbplan`, on a local and on a
//! PostgreSQL state: encrypt, read back, refused without credentials or with a disabled key,
//! the password in no file, table, export or output, rekey to another KMS key, decrypt.

use super::apply::{Lab, Tenant, value};
use super::{stderr, text};
use dbplan_testkit::MotoServer;
use std::process::Output;

/// Which backend a scenario runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Backend {
    Local,
    Postgres,
}

/// A lab (PostgreSQL server, manifests) with a moto server for KMS.
pub(crate) struct KmsLab {
    pub(crate) lab: Lab,
    pub(crate) moto: MotoServer,
    pub(crate) state: String,
    backend: Backend,
}

/// AWS's variables the environment may hold: none reaches the binary unless a test sets it.
const AWS_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
];

impl KmsLab {
    pub(crate) fn start(backend: Backend) -> KmsLab {
        let lab = Lab::start();
        let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
        let state = match backend {
            Backend::Local => lab.path("state").to_string_lossy().into_owned(),
            Backend::Postgres => lab.postgres_state("kms"),
        };
        KmsLab {
            lab,
            moto,
            state,
            backend,
        }
    }

    /// A new KMS key with `alias`; its ARN.
    pub(crate) fn key(&self, alias: &str) -> String {
        self.boto(&format!(
            "arn = kms.create_key()['KeyMetadata']['Arn']\nkms.create_alias(AliasName='alias/{alias}', TargetKeyId=arn)\nprint(arn)"
        ))
    }

    /// Runs Python with a boto3 KMS client `kms` against moto; what it prints.
    pub(crate) fn boto(&self, code: &str) -> String {
        let python =
            std::path::Path::new(&dbplan_testkit::moto_bin().unwrap()).with_file_name("python");
        let program = format!(
            "import boto3\nkms = boto3.client('kms', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
            self.moto.endpoint()
        );
        let output = std::process::Command::new(python)
            .arg("-c")
            .arg(program)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", text(&output));
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    /// `dbplan args --state STATE` with moto's credentials (when `credentials`) and `env`.
    pub(crate) fn run(&self, args: &[&str], credentials: bool, env: &[(&str, &str)]) -> Output {
        let mut command = self.lab.command(args);
        command.args(["--state", &self.state]);
        for name in AWS_VARIABLES
            .iter()
            .chain(&["DBPLAN_STATE_PASSPHRASE", "DBPLAN_STATE_NEW_PASSPHRASE"])
            .chain(&["DBPLAN_STATE_KMS_KEY", "DBPLAN_STATE_NEW_KMS_KEY"])
        {
            command.env_remove(name);
        }
        for (name, value) in self.moto.env() {
            if credentials || !name.starts_with("AWS_ACCESS") && !name.starts_with("AWS_SECRET") {
                command.env(name, value);
            }
        }
        command.envs(env.iter().copied());
        command.output().unwrap()
    }

    /// Everything the state stores, as text: every file under a local state's directory, or
    /// the PostgreSQL state's rows.
    pub(crate) fn stored(&self) -> String {
        match self.backend {
            Backend::Local => dbplan_testkit::files_under(std::path::Path::new(&self.state)).unwrap()
                .iter()
                .map(|file| String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned())
                .collect::<Vec<_>>()
                .join("\n"),
            Backend::Postgres => self.lab.sql(
                "postgres",
                "SELECT string_agg(encode(record, 'escape'), ' ') FROM dbplan.resources UNION ALL SELECT string_agg(key || ' ' || coalesce(encryption, ''), ' ') FROM dbplan.states",
            ),
        }
    }
}

/// Asserts the exit code, and that no output holds any of `secrets`.
pub(crate) fn expect(output: &Output, code: i32, what: &str, secrets: &[&str]) {
    let all = text(output);
    assert_eq!(output.status.code(), Some(code), "{what}:\n{all}");
    for secret in secrets {
        assert!(!all.contains(secret), "{what} printed a secret:\n{all}");
    }
}

// Long: one scenario, each step depending on the state the one before left.
fn a_state_encrypted_under_aws_kms(backend: Backend) {
    let lab = KmsLab::start(backend);
    lab.lab.manifests(&[Tenant::new("sealed")]);
    let applied = lab.run(&["apply", "tenants.yaml", "--auto-approve"], false, &[]);
    expect(&applied, 0, "apply", &[]);
    let password = value(&lab.lab.env_secret("sealed"), "DB_PASSWORD").to_owned();
    let secrets = [password.as_str()];
    assert!(lab.stored().contains(&password), "the plain state holds it");
    let first = lab.key("state");
    let second = lab.key("other");
    let kms_key = [("DBPLAN_STATE_KMS_KEY", "alias/state")];

    let encrypted = lab.run(&["state", "encrypt"], true, &kms_key);
    expect(&encrypted, 0, "encrypt under KMS", &secrets);
    let stored = lab.stored();
    assert!(
        !stored.contains(&password),
        "{backend:?}: the password is stored"
    );
    assert!(
        stored.contains("aws-kms") && stored.contains(&first),
        "{stored}"
    );

    let planned = lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"], true, &[]);
    expect(&planned, 0, "plan of the KMS-encrypted state", &secrets);
    let shown = lab.run(&["state", "show", "TenantDatabase/sealed/role"], true, &[]);
    expect(&shown, 0, "state show", &secrets);
    // Not even the most detailed log shows KMS's answer, which holds the data key.
    let logged = lab.run(&["state", "list"], true, &[("RUST_LOG", "trace")]);
    expect(&logged, 0, "list with RUST_LOG=trace", &secrets);
    let log = text(&logged);
    assert!(
        log.to_lowercase().contains("kms") && !log.contains("Plaintext"),
        "{log}"
    );

    // Without credentials it is refused, saying which key and what to set.
    let refused = lab.run(&["plan", "tenants.yaml"], false, &[]);
    expect(&refused, 1, "plan without credentials", &secrets);
    let why = stderr(&refused);
    assert!(
        why.contains(&first) && why.contains("AWS_ACCESS_KEY_ID"),
        "{why}"
    );
    if let Backend::Postgres = backend {
        // Another key than the one that wrapped the data key, or another lineage than the
        // one it is bound to: KMS refuses, and the error is AWS's, in one sentence.
        let edit = |from: &str, to: &str, column: &str| {
            lab.lab.sql(
                "postgres",
                &format!("UPDATE dbplan.states SET {column} = replace({column}, '{from}', '{to}')"),
            )
        };
        edit(&first, &second, "encryption");
        let refused = lab.run(&["state", "list"], true, &[]);
        expect(&refused, 1, "list with another key recorded", &secrets);
        let why = stderr(&refused);
        assert!(
            why.contains("AccessDeniedException") && why.contains(&second) && !why.contains("{ "),
            "{why}"
        );
        edit(&second, &first, "encryption");
        let lineage = lab.lab.sql("postgres", "SELECT lineage FROM dbplan.states");
        edit(&lineage, "another-lineage", "lineage");
        let refused = lab.run(&["state", "list"], true, &[]);
        expect(&refused, 1, "list with another lineage", &secrets);
        assert!(
            stderr(&refused).contains("InvalidCiphertextException"),
            "{}",
            stderr(&refused)
        );
        edit("another-lineage", &lineage, "lineage");
    }

    // An export holds the sealed values, and the header to unwrap them.
    let export = lab.lab.path("export.json");
    let exported = lab.run(
        &["state", "export", "--out", &export.to_string_lossy()],
        true,
        &[],
    );
    expect(&exported, 0, "export", &secrets);
    let document = std::fs::read_to_string(&export).unwrap();
    assert!(!document.contains(&password) && document.contains(&first));

    // Rekey to another KMS key.
    let rekeyed = lab.run(
        &["state", "rekey"],
        true,
        &[("DBPLAN_STATE_NEW_KMS_KEY", "alias/other")],
    );
    expect(&rekeyed, 0, "rekey to another KMS key", &secrets);
    let stored = lab.stored();
    assert!(!stored.contains(&password));
    assert!(stored.contains(&second), "{stored}");
    let listed = lab.run(&["state", "list"], true, &[]);
    expect(&listed, 0, "list under the new key", &secrets);

    let decrypted = lab.run(&["state", "decrypt"], true, &[]);
    expect(&decrypted, 0, "decrypt", &secrets);
    let listed = lab.run(&["state", "list"], false, &[]);
    expect(
        &listed,
        0,
        "list of the decrypted state without credentials",
        &secrets,
    );
}

#[test]
fn a_local_state_encrypted_under_aws_kms() {
    a_state_encrypted_under_aws_kms(Backend::Local);
}

#[test]
fn a_postgres_state_encrypted_under_aws_kms() {
    a_state_encrypted_under_aws_kms(Backend::Postgres);
}

/// `apply` of `tenants` with `env` (moto's credentials given).
fn apply(lab: &KmsLab, tenants: &[&str], env: &[(&str, &str)], secrets: &[&str]) -> Output {
    let tenants: Vec<Tenant> = tenants.iter().map(|name| Tenant::new(name)).collect();
    lab.lab.manifests(&tenants);
    let applied = lab.run(&["apply", "tenants.yaml", "--auto-approve"], true, env);
    expect(&applied, 0, &format!("apply with {env:?}"), secrets);
    applied
}

// Long: one scenario, each rotation depending on the key the one before left.
fn a_writer_rotates_to_the_new_key_and_readers_accept_either(backend: Backend) {
    const OLD: &str = "rotation passphrase one 6d2e";
    const NEW: &str = "rotation passphrase two 9b41";
    let lab = KmsLab::start(backend);
    apply(&lab, &["one"], &[], &[]);
    let password = value(&lab.lab.env_secret("one"), "DB_PASSWORD").to_owned();
    let secrets = [password.as_str(), OLD, NEW];
    let first = lab.key("state");
    let second = lab.key("other");
    let old = [("DBPLAN_STATE_PASSPHRASE", OLD)];
    expect(
        &lab.run(&["state", "encrypt"], true, &old),
        0,
        "encrypt",
        &secrets,
    );
    let rotated = "re-encrypted the state under";
    let planned =
        |env: &[(&str, &str)]| lab.run(&["plan", "tenants.yaml", "--detailed-exitcode"], true, env);

    // The next write moves it to the new passphrase, and says so.
    let both = [
        ("DBPLAN_STATE_PASSPHRASE", OLD),
        ("DBPLAN_STATE_NEW_PASSPHRASE", NEW),
    ];
    let applied = apply(&lab, &["one", "two"], &both, &secrets);
    assert!(
        stderr(&applied).contains(&format!("{rotated} the new passphrase")),
        "{}",
        text(&applied)
    );
    expect(
        &planned(&old),
        1,
        "plan with the old passphrase alone",
        &secrets,
    );
    expect(
        &planned(&[("DBPLAN_STATE_PASSPHRASE", NEW)]),
        0,
        "plan with the new one",
        &secrets,
    );
    expect(&planned(&both), 0, "plan with both set", &secrets);
    // Already under it: the next writer does not rotate again.
    let applied = apply(&lab, &["one", "two", "three"], &both, &secrets);
    assert!(!stderr(&applied).contains(rotated), "{}", text(&applied));

    // To AWS KMS, then to another KMS key; once there, no further rotation.
    let to_kms = [
        ("DBPLAN_STATE_PASSPHRASE", NEW),
        ("DBPLAN_STATE_NEW_KMS_KEY", "alias/state"),
    ];
    let applied = apply(&lab, &["one", "two", "three", "four"], &to_kms, &secrets);
    assert!(stderr(&applied).contains(rotated), "{}", text(&applied));
    assert!(lab.stored().contains(&first));
    let applied = apply(
        &lab,
        &["one", "two", "three", "four", "five"],
        &to_kms,
        &secrets,
    );
    assert!(!stderr(&applied).contains(rotated), "{}", text(&applied));
    expect(&planned(&[]), 0, "plan under KMS", &secrets);
    let to_other = [("DBPLAN_STATE_NEW_KMS_KEY", "alias/other")];
    let applied = apply(
        &lab,
        &["one", "two", "three", "four", "five", "six"],
        &to_other,
        &secrets,
    );
    assert!(stderr(&applied).contains(rotated), "{}", text(&applied));
    let stored = lab.stored();
    assert!(stored.contains(&second) && !stored.contains(&first));
    for secret in secrets {
        assert!(!stored.contains(secret), "{backend:?}: a secret is stored");
    }
}

#[test]
fn a_local_state_rotates_to_the_new_key_on_the_next_write() {
    a_writer_rotates_to_the_new_key_and_readers_accept_either(Backend::Local);
}

#[test]
fn a_postgres_state_rotates_to_the_new_key_on_the_next_write() {
    a_writer_rotates_to_the_new_key_and_readers_accept_either(Backend::Postgres);
}
