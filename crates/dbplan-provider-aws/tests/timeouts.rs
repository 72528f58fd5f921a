//! Bounded waits: an AWS endpoint (`AWS_ENDPOINT_URL`) that accepts connections and never
//! answers fails the request within the configured timeouts and the SDK's retries, with an
//! error naming the resource, `host:port`, the step and the variable to raise. The timeouts are
//! short overrides, so the test runs fast; it asserts no timings (the bound shows in the test
//! ending at all).
//!
//! The provider reads its configuration from the process environment (aws-config's chain and
//! the `DBPLAN_*` variables), which a test cannot set in its own process (the workspace forbids
//! unsafe code), so the test runs itself again as a child process with the environment set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_provider::{Context, Provider, ProviderError, ReadRequest};
use dbplan_provider_aws::AwsProvider;
use dbplan_testkit::silent::{self, SilentListener};
use std::collections::BTreeMap;
use std::time::Instant;

/// Runs the test `name` of this binary in a child process with `vars` set.
fn in_child(name: &str, vars: &[(&str, String)]) -> String {
    silent::run_in_child(
        name,
        &["AWS_PROFILE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"],
        vars,
    )
}

#[test]
fn a_silent_endpoint_fails_each_request_within_the_timeouts_and_retries() {
    let name = "a_silent_endpoint_fails_each_request_within_the_timeouts_and_retries";
    if silent::is_child() {
        return child();
    }
    let silent = SilentListener::start().unwrap();
    let output = in_child(
        name,
        &[
            ("AWS_ENDPOINT_URL", silent.url()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
            ("DBPLAN_CONNECT_TIMEOUT", "0.5".to_owned()),
            ("DBPLAN_READ_TIMEOUT", "0.5".to_owned()),
            ("EXPECTED_TARGET", silent.address().to_string()),
        ],
    );
    eprintln!("{output}");
    // The SDK's standard retry mode: three attempts, each on a new connection, then the error.
    let requests = silent.request_lines();
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        requests.iter().all(|line| line.starts_with("POST / ")),
        "{requests:?}"
    );
}

/// The child: reads a VPC through the silent endpoint.
fn child() {
    let target = std::env::var("EXPECTED_TARGET").unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = ReadRequest {
        address: "AwsVpc/main".parse().unwrap(),
        provider_id: Some("vpc-0123456789abcdef0".to_owned()),
        attributes: BTreeMap::new(),
        outputs: BTreeMap::new(),
        context: Context::new(),
        declared: Default::default(),
    };
    let started = Instant::now();
    let error = match runtime.block_on(AwsProvider::new().read(&request)) {
        Ok(outcome) => panic!("a silent endpoint answered: {outcome:?}"),
        Err(error) => error,
    };
    eprintln!("failed after {:?}: {error}", started.elapsed());
    let text = error.to_string();
    assert!(
        matches!(
            error,
            ProviderError::Caused {
                transient: true,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.starts_with("AwsVpc/main: "), "{text}");
    assert!(
        text.contains(&format!(
            "{target} accepted the connection but did not answer within 0.5 s (DBPLAN_READ_TIMEOUT), each of 3 attempts"
        )),
        "{text}"
    );
    assert!(text.contains("raise DBPLAN_READ_TIMEOUT"), "{text}");
    assert!(!text.contains("testing"), "{text}");
}

#[test]
fn a_bad_timeout_value_is_an_error_naming_the_variable() {
    let name = "a_bad_timeout_value_is_an_error_naming_the_variable";
    if silent::is_child() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let request = ReadRequest {
            address: "AwsVpc/main".parse().unwrap(),
            provider_id: Some("vpc-0123456789abcdef0".to_owned()),
            attributes: BTreeMap::new(),
            outputs: BTreeMap::new(),
            context: Context::new(),
            declared: Default::default(),
        };
        let error = runtime
            .block_on(AwsProvider::new().read(&request))
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("AwsVpc/main: DBPLAN_READ_TIMEOUT=\"1m\" is not a number of seconds"),
            "{text}"
        );
        return;
    }
    let silent = SilentListener::start().unwrap();
    in_child(
        name,
        &[
            ("AWS_ENDPOINT_URL", silent.url()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("DBPLAN_READ_TIMEOUT", "1m".to_owned()),
        ],
    );
    // Nothing was sent with a default bound instead.
    assert_eq!(silent.connections(), 0);
}
