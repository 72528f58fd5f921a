//! AWS KMS for the state's encryption at rest: data keys made with `GenerateDataKey`
//! (AES-256) under a key the user names, unwrapped with `Decrypt`, each bound to an
//! encryption context, and a key's ARN with `DescribeKey`.
//!
//! [`Kms`] is synchronous, for a caller that is not async (the state is opened from plain
//! threads and from inside the CLI's runtime alike): every call runs on a runtime of its own
//! (one worker thread, started on first use) and is waited for on a channel, never with
//! `block_on`, which panics inside another runtime. Clients are made once per region, with
//! the provider's HTTPS client and request timeouts; credentials and endpoint (`AWS_ENDPOINT_URL`)
//! come from aws-config's standard chain. Errors are one sentence (`AwsError`'s: status,
//! AWS's error code, message, request id), never the SDK's `Debug` form; no error or `Debug`
//! holds a key.

use crate::error::{AwsError, Failure};
use crate::timeouts::{ExplainTimeouts, Timeouts};
use aws_config::BehaviorVersion;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};

/// A data key in the clear. `Debug` never shows it.
pub struct PlainKey(pub [u8; 32]);

impl std::fmt::Debug for PlainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainKey(…)")
    }
}

/// A data key `GenerateDataKey` made.
#[derive(Debug)]
pub struct DataKey {
    pub plaintext: PlainKey,
    /// The `CiphertextBlob`: the key wrapped by KMS.
    pub wrapped: Vec<u8>,
    /// The ARN of the KMS key that wraps it.
    pub key_arn: String,
}

/// A synchronous AWS KMS client (see the module's documentation).
#[derive(Default)]
pub struct Kms {
    runtime: OnceLock<Result<tokio::runtime::Runtime, String>>,
    clients: Mutex<HashMap<String, aws_sdk_kms::Client>>,
    /// A region for every call; `None`: the key's (an ARN's), else the chain's.
    region: Option<String>,
    /// Tests: this endpoint, with fixed credentials, instead of the chain's.
    endpoint: Option<String>,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kms")
    }
}

impl Drop for Kms {
    fn drop(&mut self) {
        if let Some(Ok(runtime)) = self.runtime.take() {
            // Never blocks, so a client may be dropped inside another runtime.
            runtime.shutdown_background();
        }
    }
}

/// The region of a key ARN (`arn:aws:kms:<region>:<account>:key/<id>`).
fn region_of(key_id: &str) -> Option<String> {
    let mut parts = key_id.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("arn"), Some(_), Some("kms"), Some(region)) if !region.is_empty() => {
            Some(region.to_owned())
        }
        _ => None,
    }
}

/// What to set when the request has no credentials or region.
pub(crate) const CREDENTIALS_HINT: &str = "set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and AWS_REGION";

/// An SDK error as one sentence (a multi-line cause is joined); a request without
/// credentials says so and what to set, without the SDK's list of every provider it tried.
fn explain<E>(
    error: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
) -> String
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let error = AwsError::from_sdk(error);
    let text = error.to_string();
    match &error {
        AwsError::NoAnswer { .. } if text.contains("no credentials found") => {
            format!("no AWS credentials were found; {CREDENTIALS_HINT}")
        }
        AwsError::NoAnswer {
            failure: Failure::NotBuilt,
            ..
        } => format!("{}; {CREDENTIALS_HINT}", one_line(&text)),
        _ => one_line(&text),
    }
}

/// `text` on one line: its lines joined with `; `.
fn one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn context_map(context: &[(&str, &str)]) -> HashMap<String, String> {
    context
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

impl Kms {
    pub fn new() -> Kms {
        Kms::default()
    }

    /// Every call in `region` (tests; the chain's region otherwise).
    pub fn in_region(region: impl Into<String>) -> Kms {
        Kms {
            runtime: OnceLock::new(),
            clients: Mutex::new(HashMap::new()),
            region: Some(region.into()),
            endpoint: None,
        }
    }

    /// Runs `work` on the client's runtime and waits for its answer.
    fn block<T, F>(&self, work: F) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, String>> + Send + 'static,
    {
        let runtime = self
            .runtime
            .get_or_init(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("dbplan-kms")
                    .enable_all()
                    .build()
                    .map_err(|error| format!("cannot start the AWS KMS client's runtime: {error}"))
            })
            .as_ref()
            .map_err(Clone::clone)?;
        let (sender, receiver) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            // The receiver waits below; a send fails only when it is gone, and then nobody
            // is left to tell.
            let _ = sender.send(work.await);
        });
        receiver
            .recv()
            .unwrap_or_else(|_| Err("the AWS KMS request ended without an answer".to_owned()))
    }

    /// The client for `key_id`'s region (an ARN's), else this client's, else the chain's.
    fn client(&self, key_id: &str) -> Result<aws_sdk_kms::Client, String> {
        let timeouts = Timeouts::from_env()?;
        let region = self.region.clone().or_else(|| region_of(key_id));
        let endpoint = self.endpoint.clone();
        let slot = region.clone().unwrap_or_default();
        if let Some(found) = self
            .clients
            .lock()
            .map_err(|_| "a thread panicked while it made an AWS KMS client".to_owned())?
            .get(&slot)
        {
            return Ok(found.clone());
        }
        let client = self.block(async move {
            let mut loader = aws_config::defaults(BehaviorVersion::latest())
                .timeout_config(timeouts.config())
                .http_client(crate::https_client());
            if let Some(region) = region {
                loader = loader.region(aws_config::Region::new(region));
            }
            if let Some(endpoint) = endpoint {
                loader = loader.endpoint_url(endpoint).credentials_provider(
                    aws_sdk_kms::config::Credentials::new(
                        "testing", "testing", None, None, "tests",
                    ),
                );
            }
            let config = loader.load().await;
            Ok(aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&config)
                    .interceptor(ExplainTimeouts::new(timeouts))
                    .build(),
            ))
        })?;
        self.clients
            .lock()
            .map_err(|_| "a thread panicked while it made an AWS KMS client".to_owned())?
            .insert(slot, client.clone());
        Ok(client)
    }

    /// A new AES-256 data key under `key_id` (id, ARN or alias), bound to `context`.
    pub fn generate_data_key(
        &self,
        key_id: &str,
        context: &[(&str, &str)],
    ) -> Result<DataKey, String> {
        let client = self.client(key_id)?;
        let request = client
            .generate_data_key()
            .key_id(key_id)
            .key_spec(DataKeySpec::Aes256)
            .set_encryption_context(Some(context_map(context)));
        let answer = self.block(async move { request.send().await.map_err(explain) })?;
        let plaintext = answer
            .plaintext()
            .and_then(|blob| <[u8; 32]>::try_from(blob.as_ref()).ok())
            .ok_or_else(|| "AWS KMS answered without a 32-byte data key".to_owned())?;
        let wrapped = answer
            .ciphertext_blob()
            .map(|blob| blob.as_ref().to_vec())
            .filter(|wrapped| !wrapped.is_empty())
            .ok_or_else(|| "AWS KMS answered without the wrapped data key".to_owned())?;
        let key_arn = answer
            .key_id()
            .map(str::to_owned)
            .ok_or_else(|| "AWS KMS answered without the key's ARN".to_owned())?;
        Ok(DataKey {
            plaintext: PlainKey(plaintext),
            wrapped,
            key_arn,
        })
    }

    /// The data key `wrapped` under `key_arn`, bound to `context`.
    pub fn decrypt(
        &self,
        key_arn: &str,
        wrapped: &[u8],
        context: &[(&str, &str)],
    ) -> Result<PlainKey, String> {
        let client = self.client(key_arn)?;
        let request = client
            .decrypt()
            .key_id(key_arn)
            .ciphertext_blob(Blob::new(wrapped.to_vec()))
            .set_encryption_context(Some(context_map(context)));
        let answer = self.block(async move { request.send().await.map_err(explain) })?;
        answer
            .plaintext()
            .and_then(|blob| <[u8; 32]>::try_from(blob.as_ref()).ok())
            .map(PlainKey)
            .ok_or_else(|| "AWS KMS answered without a 32-byte data key".to_owned())
    }

    /// The ARN of `key_id` (id, ARN or alias).
    pub fn key_arn(&self, key_id: &str) -> Result<String, String> {
        let client = self.client(key_id)?;
        let request = client.describe_key().key_id(key_id);
        let answer = self.block(async move { request.send().await.map_err(explain) })?;
        answer
            .key_metadata()
            .and_then(|metadata| metadata.arn())
            .map(str::to_owned)
            .ok_or_else(|| format!("AWS KMS answered without the ARN of {key_id}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use dbplan_testkit::MotoServer;

    fn moto_kms(moto: &MotoServer) -> Kms {
        let mut kms = Kms::in_region("us-east-1");
        kms.endpoint = Some(moto.endpoint());
        kms
    }

    #[test]
    fn region_of_an_arn_only() {
        assert_eq!(
            region_of("arn:aws:kms:eu-west-3:123456789012:key/abc").as_deref(),
            Some("eu-west-3")
        );
        assert_eq!(region_of("alias/state"), None);
        assert_eq!(region_of("1234abcd-12ab"), None);
        assert_eq!(format!("{:?}", PlainKey([7; 32])), "PlainKey(…)");
    }

    #[test]
    fn data_keys_round_trip_from_a_thread_and_inside_a_runtime_and_refusals_are_one_sentence() {
        let moto = MotoServer::start().unwrap_or_else(|error| panic!("{error}"));
        let kms = moto_kms(&moto);
        // A key, made through the client's own runtime the way the test makes everything.
        let arn = kms
            .block({
                let client = kms.client("us-east-1").unwrap();
                async move {
                    let made = client.create_key().send().await.map_err(explain)?;
                    let arn = made
                        .key_metadata()
                        .and_then(|m| m.arn())
                        .unwrap()
                        .to_owned();
                    client
                        .create_alias()
                        .alias_name("alias/state")
                        .target_key_id(&arn)
                        .send()
                        .await
                        .map_err(explain)?;
                    Ok(arn)
                }
            })
            .unwrap();
        let context = [("dbplan-state-lineage", "lineage-1")];
        // From a plain thread.
        let made = std::thread::scope(|scope| {
            scope
                .spawn(|| kms.generate_data_key("alias/state", &context).unwrap())
                .join()
                .unwrap()
        });
        assert_eq!(made.key_arn, arn);
        assert_eq!(kms.key_arn("alias/state").unwrap(), arn);
        // From inside another runtime (where `block_on` would panic).
        let outer = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let plain = outer.block_on(async { kms.decrypt(&arn, &made.wrapped, &context).unwrap() });
        assert_eq!(plain.0, made.plaintext.0);
        // Another context: refused, in one sentence naming AWS's error code.
        let refused = kms
            .decrypt(
                &arn,
                &made.wrapped,
                &[("dbplan-state-lineage", "lineage-2")],
            )
            .unwrap_err();
        assert!(
            refused.contains("InvalidCiphertextException") && !refused.contains('\n'),
            "{refused}"
        );
        let missing = kms.generate_data_key("alias/none", &context).unwrap_err();
        assert!(missing.contains("NotFoundException"), "{missing}");
        // A client dropped inside a runtime does not panic.
        outer.block_on(async { drop(kms) });
    }
}
