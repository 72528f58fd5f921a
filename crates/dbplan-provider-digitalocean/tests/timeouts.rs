//! Bounded waits: a DigitalOcean API (`DIGITALOCEAN_API_URL`) that accepts connections and
//! never answers fails the request within the configured timeouts and the bounded retries, with
//! an error naming the resource, `host:port`, the step and the variable to raise; a create
//! against it never sends its POST blindly. The timeouts are short overrides, so the test runs
//! fast; it asserts no timings (the bound shows in the test ending at all).
//!
//! The provider reads its configuration from the process environment, which a test cannot set
//! in its own process (the workspace forbids unsafe code), so the test runs itself again as a
//! child process with the environment set.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_provider::{ChangeRequest, Field, Provider, ProviderError, ReadRequest};
use dbplan_provider_digitalocean::DigitalOceanProvider;
use dbplan_testkit::silent::{self, SilentListener};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const TOKEN: &str = "dop_v1_canary0token0that0must0never0show0f00d";

/// Runs the test `name` of this binary in a child process with `vars` set.
fn in_child(name: &str, vars: &[(&str, String)]) -> String {
    silent::run_in_child(name, &[], vars)
}

#[test]
fn a_silent_api_fails_each_request_within_the_timeouts_and_retries() {
    let name = "a_silent_api_fails_each_request_within_the_timeouts_and_retries";
    if silent::is_child() {
        return child();
    }
    let silent = SilentListener::start().unwrap();
    let output = in_child(
        name,
        &[
            ("DIGITALOCEAN_API_URL", silent.url()),
            ("DIGITALOCEAN_TOKEN", TOKEN.to_owned()),
            ("DBPLAN_CONNECT_TIMEOUT", "0.5".to_owned()),
            ("DBPLAN_READ_TIMEOUT", "0.5".to_owned()),
            ("EXPECTED_TARGET", silent.address().to_string()),
        ],
    );
    eprintln!("{output}");
    // The read: three attempts (the child's retry policy). The create: its lookup by name,
    // three attempts, and no POST, since the lookup never answered.
    let requests = silent.request_lines();
    assert_eq!(requests.len(), 6, "{requests:?}");
    assert!(
        requests[..3]
            .iter()
            .all(|line| line.starts_with("GET /v2/vpcs/")),
        "{requests:?}"
    );
    assert!(
        requests[3..]
            .iter()
            .all(|line| line.starts_with("GET /v2/vpcs?")),
        "{requests:?}"
    );
    // The token travelled in its header only, never into an error (checked in the child).
    assert!(silent.received().iter().all(|bytes| {
        String::from_utf8_lossy(bytes)
            .to_lowercase()
            .contains(&format!("authorization: bearer {TOKEN}"))
    }),);
}

/// The child: reads and then creates a VPC through the silent API.
fn child() {
    let target = std::env::var("EXPECTED_TARGET").unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Three attempts a request instead of eight, so that the test stays short.
    let provider = DigitalOceanProvider::new().with_retries(3, Duration::from_millis(20));
    let read = ReadRequest {
        address: "DigitalOceanVpc/net".parse().unwrap(),
        provider_id: Some("5a4981aa-9653-4bd1-bef5-d6bff52042e4".to_owned()),
        attributes: BTreeMap::new(),
        outputs: BTreeMap::new(),
        context: BTreeMap::new(),
        declared: Default::default(),
    };
    let started = Instant::now();
    let error = match runtime.block_on(provider.read(&read)) {
        Ok(outcome) => panic!("a silent API answered: {outcome:?}"),
        Err(error) => error,
    };
    eprintln!("read failed after {:?}: {error}", started.elapsed());
    check(&error, &target);

    let attributes = json!({"region": "nyc3", "ip_range_cidr": "10.30.0.0/24"})
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), Field::plain(value.clone())))
        .collect();
    let create = ChangeRequest {
        address: "DigitalOceanVpc/net".parse().unwrap(),
        provider_id: None,
        attributes,
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context: BTreeMap::new(),
        adopt: dbplan_provider::Adoption::Refuse,
    };
    let started = Instant::now();
    let error = runtime.block_on(provider.create(&create)).unwrap_err();
    eprintln!("create failed after {:?}: {error}", started.elapsed());
    check(&error, &target);
}

fn check(error: &ProviderError, target: &str) {
    let text = error.to_string();
    assert!(matches!(error, ProviderError::Transport { .. }), "{text}");
    assert!(text.starts_with("DigitalOceanVpc/net: "), "{text}");
    assert!(
        text.contains(&format!(
            "{target} accepted the connection but did not answer within 0.5 s (DBPLAN_READ_TIMEOUT), each of 3 attempts"
        )),
        "{text}"
    );
    assert!(text.contains("raise DBPLAN_READ_TIMEOUT"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[test]
fn a_bad_timeout_value_is_an_error_naming_the_variable() {
    let name = "a_bad_timeout_value_is_an_error_naming_the_variable";
    if silent::is_child() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let read = ReadRequest {
            address: "DigitalOceanVpc/net".parse().unwrap(),
            provider_id: Some("5a4981aa-9653-4bd1-bef5-d6bff52042e4".to_owned()),
            attributes: BTreeMap::new(),
            outputs: BTreeMap::new(),
            context: BTreeMap::new(),
            declared: Default::default(),
        };
        let error = runtime
            .block_on(DigitalOceanProvider::new().read(&read))
            .unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with(
                "DigitalOceanVpc/net: DBPLAN_CONNECT_TIMEOUT=\"-5\" is not a number of seconds; set it to a positive number"
            ),
            "{text}"
        );
        // A setting of dbplan's, not the token's fault.
        assert!(
            !matches!(error, ProviderError::Credentials { .. }),
            "{error:?}"
        );
        assert!(!text.to_lowercase().contains("credential"), "{text}");
        assert!(!text.contains(TOKEN), "{text}");
        return;
    }
    let silent = SilentListener::start().unwrap();
    in_child(
        name,
        &[
            ("DIGITALOCEAN_API_URL", silent.url()),
            ("DIGITALOCEAN_TOKEN", TOKEN.to_owned()),
            ("DBPLAN_CONNECT_TIMEOUT", "-5".to_owned()),
        ],
    );
    // Nothing was sent with a default bound instead.
    assert_eq!(silent.connections(), 0);
}
