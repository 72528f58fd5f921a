//! Tenants on an Aurora PostgreSQL cluster, managed by dbplan (`AwsRdsCluster`) or only read
//! (`AwsRdsClusterReference`): the [`Server`] a tenant's role and database are applied on, from
//! the cluster's record (writer endpoint, port, master user, region, the managed secret's ARN,
//! whether IAM authentication is on) and the tenant's `admin` attribute (the cluster's
//! `admin_connection`).
//!
//! The administrator logs in, in this order of choice:
//! - as `iam_user` with an IAM authentication token, when `admin_connection` names one;
//! - as the master user with the password RDS manages in Secrets Manager
//!   (`manage_master_user_password`), read with `GetSecretValue` each time a connection is
//!   made (RDS rotates it), the secret's own `username` included;
//! - as the master user with the password in `password`'s `secretEnv` variable.
//!
//! The password or token is used for the connection and dropped: it is never recorded,
//! logged or put in an error.

use crate::connect::{Env, Server};
use dbplan_core::kinds::aws_rds_cluster::Cluster;
use dbplan_core::kinds::aws_rds_cluster_reference::Reference;
use dbplan_core::kinds::tenant_database::TenantAdmin;
use dbplan_core::{Kind, ResourceAddress};
use dbplan_provider::aws_login::{AwsLogin, TokenTarget};
use dbplan_provider::{ProviderError, Recorded};

/// How to log in, read from the cluster's record and the tenant's `admin`.
#[derive(Debug, PartialEq, Eq)]
enum Login {
    Iam { user: String },
    ManagedSecret { arn: String },
    Variable { user: String, variable: String },
}

/// What a tenant needs to know of its cluster, from the record of an `AwsRdsCluster`'s cluster
/// part (its attributes, as applied) or of an `AwsRdsClusterReference` (its outputs, as read).
#[derive(Debug, Default, PartialEq, Eq)]
struct Facts {
    endpoint: Option<String>,
    port: Option<u16>,
    secret_arn: Option<String>,
    username: Option<String>,
    managed: bool,
    iam: bool,
    region: Option<String>,
    /// `aurora-postgresql`, `aurora-mysql`, … as AWS reports it.
    engine: Option<String>,
}

fn facts(cluster_address: &ResourceAddress, recorded: &Recorded) -> Result<Facts, ProviderError> {
    let text = |name: &str| {
        recorded
            .outputs
            .get(name)
            .and_then(|field| match &field.value {
                serde_json::Value::String(text) => Some(text.clone()),
                serde_json::Value::Number(number) => Some(number.to_string()),
                _ => None,
            })
    };
    let flag = |name: &str| {
        recorded
            .outputs
            .get(name)
            .and_then(|field| field.value.as_bool())
            .unwrap_or(false)
    };
    let mut facts = Facts {
        endpoint: text("rds_cluster_endpoint"),
        port: text("rds_cluster_port")
            .and_then(|port| port.parse::<u16>().ok())
            .filter(|port| *port != 0),
        secret_arn: text("master_user_secret_arn"),
        engine: text("rds_cluster_engine"),
        ..Facts::default()
    };
    if cluster_address.kind == Kind::AwsRdsClusterReference {
        let reference: Reference = recorded.decode(cluster_address)?;
        facts.username = text("master_username");
        facts.managed = flag("manage_master_user_password");
        facts.iam = flag("iam_database_authentication_enabled");
        facts.region = reference.region;
    } else {
        let cluster: Cluster = recorded.decode(cluster_address)?;
        facts.username = cluster.username;
        facts.managed = cluster.manage_master_user_password == Some(true);
        facts.iam = cluster.iam_database_authentication_enabled == Some(true);
        facts.region = cluster.region;
    }
    Ok(facts)
}

/// The endpoint, port and login of the recorded cluster for the tenant part `address`; an
/// error that says what is missing and what to do.
fn plan_login(
    address: &ResourceAddress,
    cluster_address: &ResourceAddress,
    facts: &Facts,
    admin: &TenantAdmin,
) -> Result<(String, u16, Login), ProviderError> {
    let missing = |what: &str| ProviderError::Conflict {
        address: address.clone(),
        message: format!(
            "the cluster {cluster_address} has no {what} recorded; apply it first (or `dbplan plan` with refresh to read it)"
        ),
        source: None,
    };
    if let Some(engine) = facts
        .engine
        .as_deref()
        .filter(|engine| !engine.contains("postgres"))
    {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "the cluster {cluster_address} runs {engine}, and a tenant database is a PostgreSQL role and database; point `server` at a PostgreSQL cluster"
            ),
            source: None,
        });
    }
    let host = facts
        .endpoint
        .clone()
        .ok_or_else(|| missing("writer endpoint"))?;
    let port = facts.port.unwrap_or(5432);
    let login = if let Some(user) = &admin.iam_user {
        if !facts.iam {
            return Err(ProviderError::Credentials {
                address: address.clone(),
                message: format!(
                    "`admin_connection.iam_user` asks for IAM authentication, which the cluster {cluster_address} does not have; turn on `iam_database_authentication_enabled` for it, or remove `iam_user`"
                ),
                source: None,
            });
        }
        Login::Iam { user: user.clone() }
    } else if facts.managed {
        Login::ManagedSecret {
            arn: facts
                .secret_arn
                .clone()
                .ok_or_else(|| missing("master user secret ARN"))?,
        }
    } else if let Some(variable) = &admin.password_env {
        Login::Variable {
            user: facts
                .username
                .clone()
                .unwrap_or_else(|| "master".to_owned()),
            variable: variable.clone(),
        }
    } else {
        return Err(ProviderError::Credentials {
            address: address.clone(),
            message: format!(
                "dbplan cannot log in to the cluster {cluster_address}: its master password is neither managed by RDS nor given as `{{secretEnv: NAME}}`; turn on the managed password, give the password as `{{secretEnv: NAME}}` (`password` of an AwsRdsCluster, `master_password` of a reference), or name an `admin_connection.iam_user`"
            ),
            source: None,
        });
    };
    Ok((host, port, login))
}

/// The server a tenant's role or database is applied on, its credentials fetched now.
pub(crate) async fn server(
    address: &ResourceAddress,
    cluster_address: &ResourceAddress,
    recorded: &Recorded,
    admin: &TenantAdmin,
    aws: Option<&dyn AwsLogin>,
    env: &Env,
) -> Result<Server, ProviderError> {
    let facts = facts(cluster_address, recorded)?;
    let (host, port, login) = plan_login(address, cluster_address, &facts, admin)?;
    let region = facts.region.as_deref();
    let aws = || {
        aws.ok_or_else(|| ProviderError::Unsupported {
            address: address.clone(),
            message: "this build has no AWS client for database logins".to_owned(),
        })
    };
    let (admin_user, password) = match login {
        Login::Iam { user } => {
            let token = aws()?
                .iam_token(
                    address,
                    region,
                    TokenTarget {
                        host: &host,
                        port,
                        user: &user,
                    },
                )
                .await?;
            (user, token)
        }
        Login::ManagedSecret { arn } => {
            let login = aws()?.master_secret(address, region, &arn).await?;
            (login.username, login.password)
        }
        Login::Variable { user, variable } => {
            let password = env(&variable).ok_or_else(|| ProviderError::Credentials {
                address: address.clone(),
                message: format!(
                    "the cluster's master password comes from the environment variable {variable}, which is not set; set it and run the command again"
                ),
                source: None,
            })?;
            (user, password)
        }
    };
    Ok(Server {
        host,
        port,
        database: admin
            .database
            .clone()
            .unwrap_or_else(|| "postgres".to_owned()),
        admin_user,
        password: Some(password),
        sslmode: admin
            .sslmode
            .clone()
            .unwrap_or_else(|| "require".to_owned()),
        sslrootcert: admin.sslrootcert.clone(),
        ca_pem: None,
        via: admin
            .connect_via
            .as_ref()
            .map(|via| (via.host.clone(), via.port)),
    })
}

/// Whether a lookup on the cluster can log in without asking anyone: its record is complete
/// and the password's source is at hand (AWS for a managed secret or a token, the variable
/// otherwise).
pub(crate) fn can_log_in(
    address: &ResourceAddress,
    cluster_address: &ResourceAddress,
    recorded: &Recorded,
    admin: &TenantAdmin,
    aws: bool,
    env: &Env,
) -> bool {
    let Ok(facts) = facts(cluster_address, recorded) else {
        return false;
    };
    match plan_login(address, cluster_address, &facts, admin) {
        Ok((_, _, Login::Iam { .. } | Login::ManagedSecret { .. })) => aws,
        Ok((_, _, Login::Variable { variable, .. })) => env(&variable).is_some(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dbplan_core::Field;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn recorded(attributes: serde_json::Value, outputs: &[(&str, Field)]) -> Recorded {
        Recorded {
            provider_id: Some("shared-pg".to_owned()),
            attributes: attributes
                .as_object()
                .unwrap()
                .iter()
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
            outputs: outputs
                .iter()
                .map(|(name, field)| ((*name).to_owned(), field.clone()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn login(
        attributes: serde_json::Value,
        outputs: &[(&str, Field)],
        admin: &TenantAdmin,
    ) -> Result<(String, u16, Login), ProviderError> {
        let address: ResourceAddress = "TenantDatabase/billing/role".parse().unwrap();
        let cluster_address: ResourceAddress = "AwsRdsCluster/shared-pg/cluster".parse().unwrap();
        let recorded = recorded(attributes, outputs);
        let facts = facts(&cluster_address, &recorded).unwrap();
        plan_login(&address, &cluster_address, &facts, admin)
    }

    fn endpoint() -> Vec<(&'static str, Field)> {
        vec![
            (
                "rds_cluster_endpoint",
                Field::plain("shared-pg.cluster-abc.eu-central-1.rds.amazonaws.com"),
            ),
            ("rds_cluster_port", Field::plain(5432)),
            (
                "master_user_secret_arn",
                Field::plain("arn:aws:secretsmanager:eu-central-1:1:secret:rds!cluster-1"),
            ),
        ]
    }

    #[test]
    fn a_managed_password_is_read_from_the_clusters_secret() {
        let (host, port, login) = login(
            json!({"engine": "aurora-postgresql", "username": "platform", "manage_master_user_password": true}),
            &endpoint(),
            &TenantAdmin::default(),
        )
        .unwrap();
        assert_eq!(host, "shared-pg.cluster-abc.eu-central-1.rds.amazonaws.com");
        assert_eq!(port, 5432);
        assert_eq!(
            login,
            Login::ManagedSecret {
                arn: "arn:aws:secretsmanager:eu-central-1:1:secret:rds!cluster-1".to_owned()
            }
        );
    }

    #[test]
    fn a_password_variable_logs_in_as_the_master_user() {
        let admin = TenantAdmin {
            password_env: Some("SHARED_PG_PASSWORD".to_owned()),
            ..TenantAdmin::default()
        };
        let (_, _, login) = login(
            json!({"engine": "aurora-postgresql", "username": "platform"}),
            &endpoint(),
            &admin,
        )
        .unwrap();
        assert_eq!(
            login,
            Login::Variable {
                user: "platform".to_owned(),
                variable: "SHARED_PG_PASSWORD".to_owned()
            }
        );
    }

    #[test]
    fn iam_needs_the_clusters_iam_authentication() {
        let admin = TenantAdmin {
            iam_user: Some("dbplan_admin".to_owned()),
            ..TenantAdmin::default()
        };
        let on = json!({"engine": "aurora-postgresql", "iam_database_authentication_enabled": true, "manage_master_user_password": true});
        assert_eq!(
            login(on, &endpoint(), &admin).unwrap().2,
            Login::Iam {
                user: "dbplan_admin".to_owned()
            }
        );
        let off = json!({"engine": "aurora-postgresql", "manage_master_user_password": true});
        let error = login(off, &endpoint(), &admin).unwrap_err().to_string();
        assert!(
            error.contains("iam_database_authentication_enabled"),
            "{error}"
        );
    }

    #[test]
    fn no_source_of_the_password_or_no_endpoint_is_an_error_that_says_what_to_do() {
        let error = login(
            json!({"engine": "aurora-postgresql"}),
            &endpoint(),
            &TenantAdmin::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("secretEnv"), "{error}");
        let error = login(
            json!({"engine": "aurora-postgresql", "manage_master_user_password": true}),
            &[],
            &TenantAdmin::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("writer endpoint"), "{error}");
    }

    #[test]
    fn a_cluster_that_runs_mysql_is_refused_with_its_engine_named() {
        let mut outputs = endpoint();
        outputs.push(("rds_cluster_engine", Field::plain("aurora-mysql")));
        let error = login(
            json!({"engine": "aurora-mysql", "username": "platform", "manage_master_user_password": true}),
            &outputs,
            &TenantAdmin::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("runs aurora-mysql"), "{error}");
        outputs.pop();
        outputs.push(("rds_cluster_engine", Field::plain("aurora-postgresql")));
        assert!(
            login(
                json!({"engine": "aurora-postgresql", "username": "platform", "manage_master_user_password": true}),
                &outputs,
                &TenantAdmin::default(),
            )
            .is_ok()
        );
    }
}

#[cfg(test)]
mod reference_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use dbplan_core::Field;

    #[test]
    fn a_reference_is_logged_in_to_from_what_aws_reported() {
        let cluster_address: ResourceAddress =
            "AwsRdsClusterReference/platform-pg".parse().unwrap();
        let recorded = Recorded {
            provider_id: Some("platform-pg".to_owned()),
            attributes: [
                (
                    "cluster_identifier".to_owned(),
                    serde_json::json!("platform-pg"),
                ),
                ("region".to_owned(), serde_json::json!("eu-central-1")),
            ]
            .into_iter()
            .collect(),
            outputs: [
                (
                    "rds_cluster_endpoint",
                    Field::plain("platform-pg.cluster-x.eu-central-1.rds.amazonaws.com"),
                ),
                ("rds_cluster_port", Field::plain(5432)),
                ("master_username", Field::plain("platform")),
                ("manage_master_user_password", Field::plain(false)),
                ("iam_database_authentication_enabled", Field::plain(true)),
            ]
            .into_iter()
            .map(|(name, field)| (name.to_owned(), field))
            .collect(),
        };
        let facts = facts(&cluster_address, &recorded).unwrap();
        assert_eq!(facts.region.as_deref(), Some("eu-central-1"));
        assert!(facts.iam && !facts.managed);
        let address: ResourceAddress = "TenantDatabase/billing/role".parse().unwrap();
        let admin = TenantAdmin {
            password_env: Some("PLATFORM_PG_PASSWORD".to_owned()),
            ..TenantAdmin::default()
        };
        assert_eq!(
            plan_login(&address, &cluster_address, &facts, &admin)
                .unwrap()
                .2,
            Login::Variable {
                user: "platform".to_owned(),
                variable: "PLATFORM_PG_PASSWORD".to_owned()
            }
        );
    }
}
