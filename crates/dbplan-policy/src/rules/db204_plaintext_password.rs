//! ## What it does
//! Reports a `PostgresServer` whose `sslmode` lets a password travel unencrypted: `disable`
//! (never encrypted) or `prefer` (encrypted only when the server offers TLS, so whoever sits
//! between dbplan and the server decides). It fires when a password would travel over such a
//! connection: the administrator's password (`admin_password`), or the password of a
//! `TenantDatabase` on the server, whose connection secret hands applications the same
//! `sslmode`.
//!
//! ## Why is this bad?
//! Over a connection without TLS, a server (or anyone in the path who pretends to be one) that
//! asks for `password` authentication receives the password in clear text, and one that asks
//! for `md5` receives a salted MD5 hash of it, which can be guessed offline. Even with
//! `scram-sha-256`, an unencrypted session can be taken over after authentication. dbplan
//! itself refuses cleartext and MD5 authentication unless the server's certificate is verified;
//! applications using the connection secret do not.
//!
//! ## Example
//! ```yaml
//! kind: PostgresServer
//! spec:
//!   host: db.internal.example.com
//!   adminUser: dbplan
//!   adminPassword: {secretEnv: PG_ADMIN_PASSWORD}
//!   sslmode: disable
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: PostgresServer
//! spec:
//!   host: db.internal.example.com
//!   adminUser: dbplan
//!   adminPassword: {secretEnv: PG_ADMIN_PASSWORD}
//!   sslmode: verify-full
//!   sslrootcert: certs/internal-ca.pem
//! ```
//! (`require` encrypts without verifying the certificate; a server on the loopback interface
//! of the machine dbplan runs on may waive the rule with a reason.)
//!
//! ## References
//! - PostgreSQL, "Protection Provided in Different Modes" (libpq SSL support): with `disable`
//!   and `allow`/`prefer`, "I don't care about security" / "I don't care about encryption";
//!   `require`: "I want my data to be encrypted"; `verify-full`: "I want my data encrypted, and
//!   I accept the overhead. I want to be sure that I connect to a server I trust, and that it's
//!   the one I specify."
//! - PostgreSQL, "Password Authentication": "The method `password` sends the password in
//!   clear-text and is therefore vulnerable to password 'sniffing' attacks. It should always be
//!   avoided if possible."

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use dbplan_manifest::kinds::SslMode;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB204", "password over a connection that permits plaintext"),
    id: "plaintext-password",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db204_plaintext_password.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for server in context.resources() {
        let Spec::PostgresServer(spec) = &server.spec else {
            continue;
        };
        let mode = match spec.sslmode {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require | SslMode::VerifyFull => continue,
        };
        let name = server.address.name.as_str();
        let tenants: Vec<&str> = context
            .resources()
            .filter_map(|resource| match &resource.spec {
                Spec::TenantDatabase(tenant) if tenant.server() == ("PostgresServer", name) => {
                    Some(resource.address.name.as_str())
                }
                _ => None,
            })
            .collect();
        let mut passwords = Vec::new();
        if spec.admin_password.is_some() {
            passwords.push("the administrator's password".to_owned());
        }
        match tenants.as_slice() {
            [] => {}
            [tenant] => passwords.push(format!("the password of the tenant {tenant}")),
            many => passwords.push(format!("the passwords of the tenants {}", many.join(", "))),
        }
        if passwords.is_empty() {
            continue;
        }
        findings.fail(
            server,
            "/spec/sslmode",
            format!(
                "sslmode {mode} lets {} travel without TLS",
                passwords.join(" and ")
            ),
            "set `sslmode: verify-full` with `sslrootcert` (or at least `require`) and enable TLS on the server",
        );
    }
}
