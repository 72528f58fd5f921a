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
            sign_token(&clients.config, &target)
                .await
                .map_err(|error| ProviderError::Credentials {
                    address: address.clone(),
                    message: format!(
                        "cannot sign an IAM authentication token for {}: {error}; {}",
                        target.user,
                        crate::kms::CREDENTIALS_HINT
                    ),
                    source: None,
                })
        })
    }
}

/// An IAM authentication token for `target` (a presigned `connect` URL of the `rds-db`
/// service, valid 15 minutes), signed with `config`'s credentials and region.
async fn sign_token(
    config: &aws_config::SdkConfig,
    target: &TokenTarget<'_>,
) -> Result<String, String> {
    let generator = Config::builder()
        .hostname(target.host)
        .port(u64::from(target.port))
        .username(target.user)
        .build()
        .map_err(|error| error.to_string())?;
    let token = AuthTokenGenerator::new(generator)
        .auth_token(config)
        .await
        .map_err(|error| error.to_string())?;
    Ok(token.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn address() -> ResourceAddress {
        "TenantDatabase/billing/role".parse().unwrap()
    }

    /// The token is the one AWS's own reference signer (botocore's `generate_db_auth_token`,
    /// in the virtualenv `scripts/test.sh` makes for moto) computes for the same endpoint,
    /// user, region, credentials and second: RDS verifies exactly that signature.
    #[test]
    fn an_iam_token_is_what_botocore_signs_for_the_same_endpoint_and_user() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let config = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("eu-central-1"))
                .credentials_provider(aws_sdk_rds::config::Credentials::new(
                    "AKIDEXAMPLE",
                    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                    None,
                    None,
                    "test",
                ))
                .load(),
        );
        let host = "shared-pg.cluster-abc123.eu-central-1.rds.amazonaws.com";
        let token = runtime
            .block_on(sign_token(
                &config,
                &TokenTarget {
                    host,
                    port: 5432,
                    user: "dbplan_iam",
                },
            ))
            .unwrap();
        assert!(token.starts_with(&format!("{host}:5432/?")), "{token}");
        let python = dbplan_testkit::moto_bin()
            .and_then(|bin| bin.parent().map(|dir| dir.join("python")))
            .expect("moto's virtualenv: run `bash scripts/test.sh`, which makes it");
        let script = "import sys, datetime, urllib.parse, boto3, botocore.auth\n\
token, host = sys.argv[1], sys.argv[2]\n\
query = dict(urllib.parse.parse_qsl(token.split('?', 1)[1]))\n\
stamp = datetime.datetime.strptime(query['X-Amz-Date'], '%Y%m%dT%H%M%SZ')\n\
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: stamp\n\
rds = boto3.client('rds', region_name='eu-central-1', aws_access_key_id='AKIDEXAMPLE', aws_secret_access_key='wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY')\n\
expected = rds.generate_db_auth_token(DBHostname=host, Port=5432, DBUsername='dbplan_iam')\n\
print(expected.split('?', 1)[0] == token.split('?', 1)[0] and dict(urllib.parse.parse_qsl(expected.split('?', 1)[1])) == query)\n\
print(expected)\n";
        let output = std::process::Command::new(python)
            .args(["-c", script, &token, host])
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            said.starts_with("True\n"),
            "dbplan's token {token}\nbotocore's {said}"
        );
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
