//! [`AwsLogin`] for the PostgreSQL provider: the master user's login from the secret RDS
//! manages in Secrets Manager (`GetSecretValue`), and IAM authentication tokens
//! (`aws_sdk_rds::auth_token`, signed with the chain's credentials, nothing sent to AWS).
//! Neither value is logged or put in an error.

use crate::AwsProvider;
use crate::error::At;
use aws_sdk_rds::auth_token::{AuthTokenGenerator, Config};
use dbplan_core::ResourceAddress;
use dbplan_provider::aws_login::{AwsLogin, MasterLogin, TokenTarget};
use dbplan_provider::{BoxFuture, ProviderError};

/// The keys of an RDS-managed master user secret that dbplan reads.
#[derive(serde::Deserialize)]
struct SecretValue {
    username: String,
    password: String,
}

/// The secret's JSON, read into the login; an error that says what is wrong without a byte of
/// the value.
fn parse_secret(
    address: &ResourceAddress,
    secret_arn: &str,
    text: Option<&str>,
) -> Result<MasterLogin, ProviderError> {
    let refused = |why: &str| ProviderError::Credentials {
        address: address.clone(),
        message: format!(
            "the master user secret {secret_arn} {why}; RDS keeps `username` and `password` in it: check that the cluster's managed password is on and the secret was not edited by hand"
        ),
        source: None,
    };
    let text = text.ok_or_else(|| refused("has no string value"))?;
    let value: SecretValue = serde_json::from_str(text)
        .map_err(|_| refused("is not a JSON object with `username` and `password`"))?;
    Ok(MasterLogin {
        username: value.username,
        password: value.password,
    })
}

impl AwsLogin for AwsProvider {
    fn master_secret<'a>(
        &'a self,
        address: &'a ResourceAddress,
        region: Option<&'a str>,
        secret_arn: &'a str,
    ) -> BoxFuture<'a, Result<MasterLogin, ProviderError>> {
        Box::pin(async move {
            let clients = self.clients(address, region).await?;
            let answer = clients
                .secrets
                .get_secret_value()
                .secret_id(secret_arn)
                .send()
                .await
                .at(address)?;
            parse_secret(address, secret_arn, answer.secret_string())
        })
    }

    fn iam_token<'a>(
        &'a self,
        address: &'a ResourceAddress,
        region: Option<&'a str>,
        target: TokenTarget<'a>,
    ) -> BoxFuture<'a, Result<String, ProviderError>> {
        Box::pin(async move {
            let clients = self.clients(address, region).await?;
            let config = Config::builder()
                .hostname(target.host)
                .port(u64::from(target.port))
                .username(target.user)
                .build()
                .map_err(|error| ProviderError::Credentials {
                    address: address.clone(),
                    message: format!("cannot make an IAM authentication token: {error}"),
                    source: None,
                })?;
            let token = AuthTokenGenerator::new(config)
                .auth_token(&clients.config)
                .await
                .map_err(|error| ProviderError::Credentials {
                    address: address.clone(),
                    message: format!(
                        "cannot sign an IAM authentication token for {}: {error}; {}",
                        target.user,
                        crate::kms::CREDENTIALS_HINT
                    ),
                    source: None,
                })?;
            Ok(token.as_str().to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn address() -> ResourceAddress {
        "TenantDatabase/billing/role".parse().unwrap()
    }

    #[test]
    fn a_secret_is_read_from_its_username_and_password() {
        let login = parse_secret(
            &address(),
            "arn:secret",
            Some(r#"{"username":"platform","password":"s3cret-value","engine":"postgres"}"#),
        )
        .unwrap();
        assert_eq!(login.username, "platform");
        assert_eq!(login.password, "s3cret-value");
        assert!(!format!("{login:?}").contains("s3cret"));
    }

    #[test]
    fn a_secret_that_is_not_a_login_is_an_error_without_its_value() {
        for text in [
            Some(r#"{"password":"s3cret-value"}"#),
            Some("s3cret-value"),
            None,
        ] {
            let error = parse_secret(&address(), "arn:secret", text).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("arn:secret"), "{message}");
            assert!(!message.contains("s3cret"), "{message}");
        }
    }
}
