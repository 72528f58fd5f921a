//! ## What it does
//! Checks the master password settings of an Aurora cluster:
//! - `manage_master_user_password: true` together with a `password`;
//! - `master_user_secret_kms_key_id` without a managed password;
//! - neither a managed nor a supplied password, unless the cluster is restored from a snapshot
//!   (`snapshot_identifier`) or replicates another (`replication_source_identifier`), which
//!   bring their own;
//! - a supplied literal password that RDS would refuse: Aurora MySQL (and RDS for MySQL) 8 to 41
//!   characters, Aurora PostgreSQL 8 to 99, RDS for PostgreSQL 8 to 128, none of `/`, `'`, `"`,
//!   `@` or a space. A password from `{secretEnv: NAME}` is not read by lint, so its rules
//!   cannot be checked offline (`info`).
//!
//! ## Why is this bad?
//! RDS refuses each combination at apply time; a cluster with no password at all cannot be
//! created.
//!
//! ## Example
//! ```yaml
//! spec:
//!   manage_master_user_password: true
//!   password: {secretEnv: DB_PASSWORD}
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   manage_master_user_password: true
//!   master_user_secret_kms_key_id: {value: arn:aws:kms:us-east-1:111122223333:key/…}
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `ManageMasterUserPassword`: "Can't manage the master user password
//!   with Amazon Web Services Secrets Manager if MasterUserPassword is specified."
//! - `MasterUserSecretKmsKeyId`: "This setting is valid only if the master user password is
//!   managed by RDS in Amazon Web Services Secrets Manager for the DB cluster."
//! - Aurora User Guide, naming constraints: the master password "can include any printable ASCII
//!   character except /, ', \", @, or a space"; Aurora MySQL 8–41 characters, Aurora PostgreSQL
//!   8–99.

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::kinds::AwsClusterEngine;
use dbplan_manifest::refs::SecretValue;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB201", "master password settings RDS refuses"),
    id: "managed-password",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db201_managed_password.rs"),
    check: Check::Manifest(check),
};

/// The master password lengths RDS accepts per engine.
fn password_length(engine: AwsClusterEngine) -> (usize, usize) {
    match engine {
        AwsClusterEngine::AuroraMysql | AwsClusterEngine::Mysql => (8, 41),
        AwsClusterEngine::AuroraPostgresql => (8, 99),
        AwsClusterEngine::Postgres => (8, 128),
    }
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        let managed = spec.manage_master_user_password;
        if managed && spec.password.is_some() {
            findings.fail(
                resource,
                "/spec/password",
                "a managed master password (`manage_master_user_password: true`) and a `password` exclude each other",
                "remove `password` to let RDS manage it in Secrets Manager, or set `manage_master_user_password: false`",
            );
        }
        if !managed && spec.master_user_secret_kms_key_id.is_some() {
            findings.fail(
                resource,
                "/spec/master_user_secret_kms_key_id",
                "`master_user_secret_kms_key_id` is used only when RDS manages the master password",
                "set `manage_master_user_password: true`, or remove the key",
            );
        }
        let restored =
            spec.snapshot_identifier.is_some() || spec.replication_source_identifier.is_some();
        if !managed && spec.password.is_none() && !restored {
            findings.fail(
                resource,
                "/spec",
                "the cluster has no master password: neither `manage_master_user_password: true` nor `password`",
                "set `manage_master_user_password: true` (recommended), or `password: {secretEnv: NAME}`",
            );
        }
        match &spec.password {
            Some(SecretValue::Literal(password)) => {
                let (min, max) = password_length(spec.engine);
                let length = password.chars().count();
                if !(min..=max).contains(&length) {
                    findings.fail(
                        resource,
                        "/spec/password",
                        format!(
                            "the master password has {length} characters; {} takes {min} to {max}",
                            spec.engine.as_str()
                        ),
                        format!("use a password of {min} to {max} characters"),
                    );
                }
                let refused = password
                    .chars()
                    .any(|c| matches!(c, '/' | '\'' | '"' | '@' | ' ') || !(c.is_ascii_graphic()));
                if refused {
                    findings.fail(
                        resource,
                        "/spec/password",
                        "the master password contains a character RDS refuses: `/`, `'`, `\"`, `@`, a space or a non-printable or non-ASCII character",
                        "use printable ASCII characters other than / ' \" @ and space",
                    );
                }
            }
            Some(SecretValue::Env { secret_env }) if !managed => {
                let (min, max) = password_length(spec.engine);
                findings.undecidable(
                    resource,
                    "/spec/password",
                    format!("the master password comes from ${secret_env}, which lint does not read; its length and characters cannot be checked offline"),
                    format!("make sure it has {min} to {max} printable ASCII characters other than / ' \" @ and space"),
                );
            }
            _ => {}
        }
    }
}
