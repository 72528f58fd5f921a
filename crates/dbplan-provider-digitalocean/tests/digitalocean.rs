//! The provider on its own against the fake DigitalOcean API: answers lost after the request
//! took effect (a create is adopted, never made twice), paged lists, and waiting limits.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_provider::{ChangeRequest, Field, Provider, ProviderError};
use dbplan_provider_digitalocean::DigitalOceanProvider;
use dbplan_testkit::digitalocean::{FakeConfig, FakeDigitalOcean, Faults};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

fn request(address: &str, attributes: Value) -> ChangeRequest {
    let attributes = attributes
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), Field::plain(value.clone())))
        .collect();
    ChangeRequest {
        address: address.parse().unwrap(),
        provider_id: None,
        attributes,
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context: BTreeMap::new(),
        adopt: dbplan_provider::Adoption::Refuse,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn count(fake: &FakeDigitalOcean, path: &str, key: &str) -> usize {
    let (status, body) = fake.call("GET", path, None).unwrap();
    assert_eq!(status, 200, "{body}");
    body[key].as_array().map(Vec::len).unwrap_or_default()
}

/// VPCs other than the regions' defaults the fake starts with.
fn user_vpcs(fake: &FakeDigitalOcean) -> usize {
    let (_, body) = fake.call("GET", "/v2/vpcs?per_page=200", None).unwrap();
    body["vpcs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|vpc| vpc["default"] != true)
        .count()
}

#[test]
fn answers_lost_after_the_request_took_effect_never_make_an_object_twice() {
    let fake = FakeDigitalOcean::start(FakeConfig {
        create_delay: Duration::from_millis(200),
        ..FakeConfig::default()
    })
    .unwrap();
    let provider = DigitalOceanProvider::with_endpoint(&fake.url(), "dop_v1_test")
        .with_request_timeout(Duration::from_millis(700))
        .with_retries(10, Duration::from_millis(20));
    // A third of the requests time out after they took effect.
    fake.set_faults(Faults {
        rate: 0.34,
        rate_limit: false,
        server_error: false,
        stall: Some(Duration::from_millis(1000)),
        seed: 3,
    });
    let runtime = runtime();
    let vpc = runtime
        .block_on(provider.create(&request(
            "DigitalOceanVpc/net",
            json!({"region": "nyc3", "ip_range_cidr": "10.30.0.0/24", "description": "d"}),
        )))
        .unwrap();
    let vpc_id = vpc.provider_id.clone().unwrap();
    let cluster = runtime
        .block_on(provider.create(&request(
            "DigitalOceanDatabaseCluster/db",
            json!({"cluster_name": "db", "engine": "pg", "engine_version": "17",
                   "region": "nyc3", "size_slug": "db-s-2vcpu-4gb", "node_count": 2,
                   "vpc": vpc_id, "tags": ["a"]}),
        )))
        .unwrap();
    let cluster_id = cluster.provider_id.clone().unwrap();
    let pool = runtime
        .block_on(provider.create(&request(
            "DigitalOceanDatabaseConnectionPool/pool",
            json!({"cluster_id": cluster_id, "name": "app", "mode": "transaction",
                   "size": 10, "db": "defaultdb"}),
        )))
        .unwrap();
    let stats = fake.stats();
    fake.set_faults(Faults::default());
    assert!(
        stats.faults.get("stall").copied().unwrap_or(0) > 0,
        "{stats:?}"
    );
    assert_eq!(user_vpcs(&fake), 1);
    assert_eq!(count(&fake, "/v2/databases", "databases"), 1);
    assert_eq!(
        count(&fake, &format!("/v2/databases/{cluster_id}/pools"), "pools"),
        1
    );
    let uri = pool.outputs["uri"].as_str().unwrap();
    assert!(uri.ends_with("/app?sslmode=require"), "{uri:?}");
    assert!(pool.outputs["uri"].sensitive && pool.outputs["password"].sensitive);
    assert_eq!(cluster.outputs["port"].value, json!(25060));
}

#[test]
fn paged_lists_are_followed_to_find_an_existing_vpc() {
    let fake = FakeDigitalOcean::start(FakeConfig::default()).unwrap();
    // More VPCs than one page holds (the API gives at most 200 a page).
    for index in 0..205 {
        let body = json!({"name": format!("net-{index}"), "region": "ams3",
                          "ip_range": format!("10.{}.{}.0/24", 1 + index / 200, index % 200)});
        let (status, answer) = fake.call("POST", "/v2/vpcs", Some(&body)).unwrap();
        assert_eq!(status, 201, "{answer}");
    }
    let provider = DigitalOceanProvider::with_endpoint(&fake.url(), "dop_v1_test");
    let mut wanted = request(
        "DigitalOceanVpc/net-204",
        json!({"region": "ams3", "ip_range_cidr": "10.2.4.0/24"}),
    );
    // Without an opt-in, the VPC found is not taken over (and none is created).
    let refused = runtime().block_on(provider.create(&wanted)).unwrap_err();
    assert!(
        matches!(refused, ProviderError::NotAdopted { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("dbplan.io/adopt"), "{refused}");
    wanted.adopt = dbplan_provider::Adoption::Allowed;
    let adopted = runtime().block_on(provider.create(&wanted)).unwrap();
    assert!(
        count(&fake, "/v2/vpcs?per_page=200&page=2", "vpcs") > 0,
        "two pages"
    );
    assert_eq!(adopted.outputs["ip_range"].value, json!("10.2.4.0/24"));
    let stats = fake.stats();
    assert_eq!(
        stats.by_route.get("POST /v2/vpcs"),
        Some(&205),
        "adopted, not created"
    );

    // A VPC of that name elsewhere is reported, not taken over, even with the opt-in.
    let mut elsewhere = request("DigitalOceanVpc/net-3", json!({"region": "nyc3"}));
    elsewhere.adopt = dbplan_provider::Adoption::Allowed;
    let error = runtime().block_on(provider.create(&elsewhere)).unwrap_err();
    assert!(
        matches!(error, ProviderError::Conflict { .. })
            && error.to_string().contains("already exists in ams3"),
        "{error}"
    );
}

#[test]
fn a_cluster_that_stays_creating_is_given_up_on_with_advice() {
    let fake = FakeDigitalOcean::start(FakeConfig {
        create_delay: Duration::from_secs(3600),
        ..FakeConfig::default()
    })
    .unwrap();
    let provider = DigitalOceanProvider::with_endpoint(&fake.url(), "dop_v1_test")
        .with_wait(Duration::from_millis(800));
    let error = runtime()
        .block_on(provider.create(&request(
            "DigitalOceanDatabaseCluster/slow",
            json!({"cluster_name": "slow", "engine": "pg", "engine_version": "17",
                   "region": "nyc3", "size_slug": "db-s-1vcpu-1gb", "node_count": 1}),
        )))
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("DigitalOceanDatabaseCluster/slow")
            && text.contains("gave up waiting for the cluster to be online"),
        "{text}"
    );
    // dbplan gave up waiting, not the cluster: it exists and is still being created.
    let (_, body) = fake.call("GET", "/v2/databases", None).unwrap();
    assert_eq!(body["databases"][0]["status"], "creating");
}

#[test]
fn rate_limits_are_waited_out_as_the_headers_say() {
    let fake = FakeDigitalOcean::start(FakeConfig::default()).unwrap();
    fake.set_faults(Faults {
        rate: 0.5,
        rate_limit: true,
        server_error: false,
        stall: None,
        seed: 11,
    });
    let provider = DigitalOceanProvider::with_endpoint(&fake.url(), "dop_v1_test");
    let runtime = runtime();
    for index in 0..6 {
        runtime
            .block_on(provider.create(&request(
                &format!("DigitalOceanVpc/limited-{index}"),
                json!({"region": "nyc3"}),
            )))
            .unwrap();
    }
    let stats = fake.stats();
    fake.set_faults(Faults::default());
    assert!(
        stats.faults.get("429").copied().unwrap_or(0) >= 2,
        "{stats:?}"
    );
    assert_eq!(user_vpcs(&fake), 6);
}

#[test]
fn the_first_vpc_of_a_region_becomes_its_default_and_is_not_deleted() {
    let fake = FakeDigitalOcean::start(FakeConfig {
        default_vpcs: false,
        ..FakeConfig::default()
    })
    .unwrap();
    let provider = DigitalOceanProvider::with_endpoint(&fake.url(), "dop_v1_test");
    let runtime = runtime();
    let mut create = request(
        "DigitalOceanVpc/first",
        json!({"region": "lon1", "ip_range_cidr": "10.50.0.0/24",
               "is_default_for_region": false}),
    );
    let applied = runtime.block_on(provider.create(&create)).unwrap();
    // `isDefaultForRegion: false` asks for nothing: no drift although DigitalOcean made it the
    // default.
    let read = runtime
        .block_on(
            provider.read(&dbplan_provider::ReadRequest {
                address: create.address.clone(),
                provider_id: applied.provider_id.clone(),
                attributes: create
                    .attributes
                    .iter()
                    .map(|(name, field)| (name.clone(), field.value.clone()))
                    .collect(),
                outputs: applied.outputs.clone(),
                context: BTreeMap::new(),
                declared: Default::default(),
            }),
        )
        .unwrap();
    let dbplan_provider::ReadOutcome::Found(remote) = read else {
        panic!("the VPC is there");
    };
    assert!(!remote.attributes.contains_key("is_default_for_region"));
    create.provider_id = applied.provider_id.clone();
    create.prior = create.attributes.clone();
    let error = runtime.block_on(provider.delete(&create)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("does not delete a region's default VPC"),
        "{error}"
    );
    assert_eq!(count(&fake, "/v2/vpcs", "vpcs"), 1);
}
