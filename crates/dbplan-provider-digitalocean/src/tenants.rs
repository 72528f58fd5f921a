//! [`DigitalOceanDatabases`] for the PostgreSQL provider: the users and databases endpoints of a
//! cluster, and its admin connection. Passwords in answers are returned to the caller and never
//! logged.

use crate::client::Failure;
use crate::{DigitalOceanProvider, create_once, segment};
use dbplan_core::ResourceAddress;
use dbplan_provider::digitalocean::{AdminLogin, DigitalOceanDatabases};
use dbplan_provider::{BoxFuture, ProviderError};
use serde_json::{Value, json};

fn cluster_path(cluster: &str) -> String {
    format!("/v2/databases/{}", segment(cluster))
}

/// The admin login in a cluster's `connection`; an error naming what is missing.
fn admin_login(address: &ResourceAddress, cluster: &Value) -> Result<AdminLogin, ProviderError> {
    let connection = cluster.get("connection").unwrap_or(&Value::Null);
    let text = |name: &str| {
        connection
            .get(name)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let missing = |what: &str| ProviderError::Conflict {
        address: address.clone(),
        message: format!(
            "DigitalOcean reports no {what} in the cluster's connection; wait until the cluster is online and run the command again"
        ),
        source: None,
    };
    Ok(AdminLogin {
        host: text("host").ok_or_else(|| missing("host"))?,
        port: connection
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|port| u16::try_from(port).ok())
            .ok_or_else(|| missing("port"))?,
        user: text("user").ok_or_else(|| missing("user"))?,
        password: text("password").ok_or_else(|| missing("password"))?,
        database: text("database").unwrap_or_else(|| "defaultdb".to_owned()),
    })
}

/// The PEM text of `{"ca": {"certificate": <base64 of the PEM file>}}`.
fn ca_pem(address: &ResourceAddress, body: &Value) -> Result<String, ProviderError> {
    use base64::Engine as _;
    let unusable = |why: &str| ProviderError::Api {
        address: address.clone(),
        code: None,
        message: format!("DigitalOcean's answer for the cluster's CA certificate {why}"),
        source: None,
    };
    let encoded = body
        .pointer("/ca/certificate")
        .and_then(Value::as_str)
        .ok_or_else(|| unusable("holds no certificate"))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| unusable("is not base64"))?;
    String::from_utf8(decoded).map_err(|_| unusable("is not PEM text"))
}

impl DigitalOceanProvider {
    /// A user's object, or `None` when there is no such user.
    async fn user(
        &self,
        address: &ResourceAddress,
        cluster: &str,
        name: &str,
    ) -> Result<Option<Value>, ProviderError> {
        let client = self.client(address)?;
        match client
            .get(&format!(
                "{}/users/{}",
                cluster_path(cluster),
                segment(name)
            ))
            .await
        {
            Ok(reply) => Ok(reply.body.get("user").cloned()),
            Err(failure) if failure.is_not_found() => Ok(None),
            Err(failure) => Err(failure.error(address, "read the database user")),
        }
    }
}

/// A user's `password`.
fn password_of(user: &Value) -> Option<String> {
    user.get("password")
        .and_then(Value::as_str)
        .filter(|password| !password.is_empty())
        .map(str::to_owned)
}

/// Whether a failed request asked for what exists already.
fn exists_already(failure: &Failure) -> bool {
    matches!(failure.status(), Some(409 | 422))
}

impl DigitalOceanDatabases for DigitalOceanProvider {
    fn admin_login<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
    ) -> BoxFuture<'a, Result<AdminLogin, ProviderError>> {
        Box::pin(async move {
            let client = self.client(address)?;
            let reply = client
                .get(&cluster_path(cluster))
                .await
                .map_err(|failure| failure.error(address, "read the cluster's connection"))?;
            admin_login(address, reply.body.get("database").unwrap_or(&Value::Null))
        })
    }

    fn ca_certificate<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let client = self.client(address)?;
            let reply = client
                .get(&format!("{}/ca", cluster_path(cluster)))
                .await
                .map_err(|failure| failure.error(address, "read the cluster's CA certificate"))?;
            ca_pem(address, &reply.body)
        })
    }

    fn add_user<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ProviderError>> {
        Box::pin(async move {
            if self.user(address, cluster, name).await?.is_some() {
                return Ok(None);
            }
            let client = self.client(address)?;
            let path = format!("{}/users", cluster_path(cluster));
            let created = create_once(
                client,
                address,
                "add the database user",
                &path,
                &json!({"name": name}),
                || async {
                    match client
                        .get(&format!(
                            "{}/users/{}",
                            cluster_path(cluster),
                            segment(name)
                        ))
                        .await
                    {
                        Ok(reply) => Ok(reply.body.get("user").map(|user| json!({"user": user}))),
                        Err(failure) if failure.is_not_found() => Ok(None),
                        Err(failure) => Err(failure),
                    }
                },
            )
            .await?;
            let password = created.get("user").and_then(password_of);
            match password {
                Some(password) => Ok(Some(password)),
                // Created, but the answer holds no password (as for a MySQL user with another
                // authentication plugin): read the user.
                None => Ok(self
                    .user(address, cluster, name)
                    .await?
                    .as_ref()
                    .and_then(password_of)),
            }
        })
    }

    fn user_password<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ProviderError>> {
        Box::pin(async move {
            Ok(self
                .user(address, cluster, name)
                .await?
                .as_ref()
                .and_then(password_of))
        })
    }

    fn delete_user<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let client = self.client(address)?;
            match client
                .delete(&format!(
                    "{}/users/{}",
                    cluster_path(cluster),
                    segment(name)
                ))
                .await
            {
                Ok(_) => Ok(()),
                Err(failure) if failure.is_not_found() => Ok(()),
                Err(failure) => Err(failure.error(address, "delete the database user")),
            }
        })
    }

    fn add_database<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, ProviderError>> {
        Box::pin(async move {
            let client = self.client(address)?;
            let one = format!("{}/dbs/{}", cluster_path(cluster), segment(name));
            match client.get(&one).await {
                Ok(_) => return Ok(false),
                Err(failure) if failure.is_not_found() => {}
                Err(failure) => return Err(failure.error(address, "read the database")),
            }
            match client
                .post(
                    &format!("{}/dbs", cluster_path(cluster)),
                    &json!({"name": name}),
                )
                .await
            {
                Ok(_) => Ok(true),
                Err(failure) if exists_already(&failure) => Ok(false),
                Err(failure) if failure.is_transient() => match client.get(&one).await {
                    // The answer was lost, the database made: it is this request's.
                    Ok(_) => Ok(true),
                    Err(_) => Err(failure.error(address, "add the database")),
                },
                Err(failure) => Err(failure.error(address, "add the database")),
            }
        })
    }

    fn delete_database<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let client = self.client(address)?;
            match client
                .delete(&format!("{}/dbs/{}", cluster_path(cluster), segment(name)))
                .await
            {
                Ok(_) => Ok(()),
                Err(failure) if failure.is_not_found() => Ok(()),
                Err(failure) => Err(failure.error(address, "delete the database")),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_admin_login_is_read_from_the_connection_and_never_printed() {
        let address: ResourceAddress = "TenantDatabase/app/role".parse().unwrap();
        let login = admin_login(
            &address,
            &json!({"connection": {"host": "db-do-user-1-0.f.db.ondigitalocean.com", "port": 25060, "user": "doadmin", "password": "s3cret-admin", "database": "defaultdb"}}),
        )
        .unwrap();
        assert_eq!(login.port, 25060);
        assert_eq!(login.user, "doadmin");
        assert!(!format!("{login:?}").contains("s3cret"));
        let error = admin_login(
            &address,
            &json!({"connection": {"host": "h", "port": 25060}}),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("no user"), "{error}");
    }

    #[test]
    fn the_ca_certificate_is_decoded_from_base64() {
        use base64::Engine as _;
        let address: ResourceAddress = "TenantDatabase/app/role".parse().unwrap();
        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        let encoded = base64::engine::general_purpose::STANDARD.encode(pem);
        assert_eq!(
            ca_pem(&address, &json!({"ca": {"certificate": encoded}})).unwrap(),
            pem
        );
        let error = ca_pem(&address, &json!({"ca": {}}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("holds no certificate"), "{error}");
        let error = ca_pem(&address, &json!({"ca": {"certificate": "%%"}}))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not base64"), "{error}");
    }
}
