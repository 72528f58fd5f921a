//! The provider against the fake Kubernetes API server of dbplan-testkit (CNPG's CRDs
//! installed and enforced, server-side apply with managedFields, a simulated operator): each
//! part applied, waited for, read, drifted, conflicted and deleted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_core::ResourceAddress;
use dbplan_crd::Crds;
use dbplan_provider::{
    Adoption, ChangeRequest, Context, Field, Provider, ProviderError, ReadOutcome, ReadRequest,
    Recorded,
};
use dbplan_provider_kubernetes::KubernetesProvider;
use dbplan_testkit::kubernetes::{
    Failure, FailureRule, FakeConfig, FakeKubernetes, Fault, FaultRule, FieldError,
};
use serde_json::{Value as Json, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const CLUSTER_PATH: &str = "/apis/postgresql.cnpg.io/v1/namespaces/databases/clusters/home-pg";

/// The fake with every vendored CRD installed, and their schema and CEL rules as admission.
fn fake() -> FakeKubernetes {
    let crds = Crds::embedded();
    let mut validators: HashMap<String, dbplan_testkit::kubernetes::Validator> = HashMap::new();
    for crd in crds.iter() {
        let key = format!("{}.{}", crd.kind(), crd.group());
        let (api_group, kind) = (crd.group().to_owned(), crd.kind().to_owned());
        validators.insert(
            key,
            Box::new(move |object: &Json, old: Option<&Json>| {
                let crds = Crds::embedded();
                let version = object["apiVersion"].as_str().unwrap_or_default();
                let Some(crd) = crds.find(version, &kind) else {
                    return vec![FieldError::invalid(
                        "apiVersion",
                        json!(version),
                        &api_group,
                    )];
                };
                crd.validate(object, old)
                    .into_iter()
                    .map(|violation| {
                        FieldError::invalid(&violation.path, Json::Null, &violation.message)
                    })
                    .collect()
            }),
        );
    }
    FakeKubernetes::start(FakeConfig {
        crds: crds.iter().map(|crd| crd.definition().clone()).collect(),
        validators,
        status_delay: Duration::from_millis(200),
        ..FakeConfig::default()
    })
    .unwrap()
}

struct Setup {
    fake: FakeKubernetes,
    _directory: tempfile::TempDir,
    kubeconfig: std::path::PathBuf,
}

fn setup() -> Setup {
    let fake = fake();
    let directory = tempfile::tempdir().unwrap();
    let kubeconfig = directory.path().join("kubeconfig");
    fake.write_kubeconfig(&kubeconfig).unwrap();
    // The namespace the objects go to.
    let reply = fake
        .call_json(
            "POST",
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "databases"}}),
        )
        .unwrap();
    assert!(reply.status < 300 || reply.status == 409, "{}", reply.text);
    Setup {
        fake,
        _directory: directory,
        kubeconfig,
    }
}

fn new_provider(setup: &Setup) -> KubernetesProvider {
    KubernetesProvider::with_kubeconfig(&setup.kubeconfig)
        .with_force(false)
        .with_wait(Duration::from_secs(20))
        .with_retries(4, Duration::from_millis(50))
}

fn address(part: &str) -> ResourceAddress {
    format!("CnpgCluster/home-pg/{part}").parse().unwrap()
}

fn cluster_attributes(instances: i64) -> BTreeMap<String, Json> {
    BTreeMap::from([
        ("namespace".to_owned(), json!("databases")),
        ("instances".to_owned(), json!(instances)),
        ("postgres_version".to_owned(), json!("17")),
        (
            "storage".to_owned(),
            json!({"size": "20Gi", "storage_class": "local-path"}),
        ),
        (
            "bootstrap".to_owned(),
            json!({"database": "app", "owner": "app"}),
        ),
        (
            "postgresql".to_owned(),
            json!({"parameters": {"max_connections": "200"}}),
        ),
        (
            "backup".to_owned(),
            json!({"method": "plugin", "destination_path": "s3://backups/home-pg",
                "endpoint_url": "http://minio.storage.svc:9000", "retention_policy": "7d",
                "schedule": "0 0 3 * * *", "immediate": true,
                "credentials_secret": "minio-backup-credentials"}),
        ),
        ("enable_superuser_access".to_owned(), json!(false)),
    ])
}

fn fields(attributes: &BTreeMap<String, Json>) -> BTreeMap<String, Field> {
    attributes
        .iter()
        .map(|(name, value)| (name.clone(), Field::plain(value.clone())))
        .collect()
}

fn context(cluster: &BTreeMap<String, Json>) -> Context {
    Context::from([(
        address("cluster"),
        Recorded {
            provider_id: Some("databases/home-pg".to_owned()),
            attributes: cluster.clone(),
            outputs: BTreeMap::new(),
        },
    )])
}

fn change(
    part: &str,
    attributes: &BTreeMap<String, Json>,
    cluster: &BTreeMap<String, Json>,
) -> ChangeRequest {
    ChangeRequest {
        address: address(part),
        provider_id: None,
        attributes: fields(attributes),
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context: if part == "cluster" {
            Context::new()
        } else {
            context(cluster)
        },
        adopt: Adoption::Refuse,
    }
}

fn read_request(
    part: &str,
    attributes: &BTreeMap<String, Json>,
    cluster: &BTreeMap<String, Json>,
) -> ReadRequest {
    ReadRequest {
        address: address(part),
        provider_id: None,
        attributes: attributes.clone(),
        outputs: BTreeMap::new(),
        context: if part == "cluster" {
            Context::new()
        } else {
            context(cluster)
        },
        declared: BTreeMap::new(),
    }
}

fn get(setup: &Setup, path: &str) -> Json {
    let reply = setup.fake.call("GET", path, None, None).unwrap();
    assert_eq!(reply.status, 200, "{path}: {}", reply.text);
    reply.json
}

fn decode(text: &str) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

// Long: one story, each step building on the objects the one before left in the fake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_part_is_applied_waited_for_read_and_deleted() {
    let setup = setup();
    let provider = new_provider(&setup);
    let cluster = cluster_attributes(3);

    // The cluster: the ObjectStore and the Cluster, applied by dbplan, healthy, outputs read.
    let applied = provider
        .create(&change("cluster", &cluster, &cluster))
        .await
        .unwrap();
    assert_eq!(applied.provider_id.as_deref(), Some("databases/home-pg"));
    assert_eq!(
        applied.outputs["host"].value,
        json!("home-pg-rw.databases.svc")
    );
    assert!(applied.outputs["password"].sensitive);
    assert!(!applied.outputs["host"].sensitive);
    let live = get(&setup, CLUSTER_PATH);
    assert_eq!(live["status"]["phase"], "Cluster in healthy state");
    assert_eq!(
        live["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "dbplan"
    );
    let managers: Vec<&str> = live["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["operation"] == "Apply")
        .map(|entry| entry["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["dbplan"]);
    get(
        &setup,
        "/apis/barmancloud.cnpg.io/v1/namespaces/databases/objectstores/home-pg-backup",
    );

    // The scheduled backup, a database (waited until applied) and the connection secret.
    provider
        .create(&change("scheduled-backup", &BTreeMap::new(), &cluster))
        .await
        .unwrap();
    let backup = get(
        &setup,
        "/apis/postgresql.cnpg.io/v1/namespaces/databases/scheduledbackups/home-pg-scheduled-backup",
    );
    assert_eq!(backup["spec"]["method"], "plugin");
    let database = BTreeMap::from([
        ("name".to_owned(), json!("nextcloud")),
        ("owner".to_owned(), json!("nextcloud")),
        ("extensions".to_owned(), json!(["pg_trgm"])),
    ]);
    provider
        .create(&change("database-nextcloud", &database, &cluster))
        .await
        .unwrap();
    let live_database = get(
        &setup,
        "/apis/postgresql.cnpg.io/v1/namespaces/databases/databases/home-pg-nextcloud",
    );
    assert_eq!(live_database["status"]["applied"], true);
    assert_eq!(live_database["spec"]["databaseReclaimPolicy"], "retain");
    let secret_spec = BTreeMap::from([(
        "connection_secret".to_owned(),
        json!({"name": "home-pg-connection", "keys": ["DATABASE_URL", "DB_HOST", "DB_PASSWORD"]}),
    )]);
    let applied = provider
        .create(&change("connection-secret", &secret_spec, &cluster))
        .await
        .unwrap();
    assert!(
        applied.outputs.is_empty(),
        "no secret in the part's outputs"
    );
    let app = get(&setup, "/api/v1/namespaces/databases/secrets/home-pg-app");
    let password = decode(app["data"]["password"].as_str().unwrap());
    let secret = get(
        &setup,
        "/api/v1/namespaces/databases/secrets/home-pg-connection",
    );
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(
        decode(secret["data"]["DB_PASSWORD"].as_str().unwrap()),
        password
    );
    assert_eq!(
        decode(secret["data"]["DB_HOST"].as_str().unwrap()),
        "home-pg-rw.databases.svc"
    );
    assert!(
        decode(secret["data"]["DATABASE_URL"].as_str().unwrap()).starts_with("postgresql://app:")
    );

    // Reads: nothing drifted; what the operator set (status, defaults) is not drift.
    for (part, attributes) in [
        ("cluster", &cluster),
        ("database-nextcloud", &database),
        ("connection-secret", &secret_spec),
    ] {
        let ReadOutcome::Found(remote) = provider
            .read(&read_request(part, attributes, &cluster))
            .await
            .unwrap()
        else {
            panic!("{part} is there");
        };
        assert_eq!(&remote.attributes, attributes, "{part}");
    }

    // Another manager changes the instances: drift, and an apply conflicts, naming it.
    let reply = setup
        .fake
        .call(
            "PATCH",
            &format!("{CLUSTER_PATH}?fieldManager=kubectl-edit"),
            Some("application/merge-patch+json"),
            Some(r#"{"spec":{"instances":1}}"#),
        )
        .unwrap();
    assert_eq!(reply.status, 200, "{}", reply.text);
    let ReadOutcome::Found(remote) = provider
        .read(&read_request("cluster", &cluster, &cluster))
        .await
        .unwrap()
    else {
        panic!("the cluster is there");
    };
    assert_eq!(remote.attributes["instances"], json!(1));
    let mut update = change("cluster", &cluster_attributes(4), &cluster);
    update.prior = fields(&cluster);
    let error = provider.update(&update).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, ProviderError::Conflict { .. }), "{message}");
    assert!(
        message.contains("kubectl-edit") && message.contains(".spec.instances"),
        "{message}"
    );
    assert!(
        message.contains("DBPLAN_KUBERNETES_FORCE_CONFLICTS=1"),
        "{message}"
    );
    assert!(!message.contains(&password));
    // Forced, dbplan takes the field over.
    new_provider(&setup)
        .with_force(true)
        .update(&update)
        .await
        .unwrap();
    assert_eq!(get(&setup, CLUSTER_PATH)["spec"]["instances"], 4);

    // Deletes wait until each object is gone; a second delete is no error.
    for (part, attributes) in [
        ("connection-secret", &secret_spec),
        ("database-nextcloud", &database),
        ("scheduled-backup", &BTreeMap::new()),
        ("cluster", &cluster),
    ] {
        let mut delete = change(part, &BTreeMap::new(), &cluster);
        delete.prior = fields(attributes);
        provider.delete(&delete).await.unwrap();
        provider.delete(&delete).await.unwrap();
        let outcome = provider
            .read(&read_request(part, attributes, &cluster))
            .await
            .unwrap();
        assert_eq!(outcome, ReadOutcome::Gone, "{part}");
    }
    let reply = setup.fake.call("GET", CLUSTER_PATH, None, None).unwrap();
    assert_eq!(reply.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_or_failing_api_is_retried() {
    let setup = setup();
    let provider = new_provider(&setup);
    let cluster = cluster_attributes(1);
    setup.fake.add_fault(FaultRule {
        verb: Some("PATCH".to_owned()),
        path: CLUSTER_PATH.to_owned(),
        fault: Fault::TooManyRequests {
            retry_after_seconds: 1,
        },
        count: 1,
    });
    setup.fake.add_fault(FaultRule {
        verb: Some("GET".to_owned()),
        path: CLUSTER_PATH.to_owned(),
        fault: Fault::InternalError,
        count: 2,
    });
    provider
        .create(&change("cluster", &cluster, &cluster))
        .await
        .unwrap();
    let stats = setup.fake.stats();
    assert_eq!(stats.faults.values().sum::<u64>(), 3, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cluster_reports_what_the_operator_says() {
    let setup = setup();
    let provider = new_provider(&setup).with_wait(Duration::from_secs(3));
    setup.fake.fail(FailureRule {
        kind: "Cluster".to_owned(),
        namespace: "databases".to_owned(),
        name: "home-pg".to_owned(),
        failure: Failure {
            phase: "Setting up primary".to_owned(),
            message: "the storage class local-path does not exist".to_owned(),
        },
    });
    let cluster = cluster_attributes(1);
    let error = provider
        .create(&change("cluster", &cluster, &cluster))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("Setting up primary"), "{error}");
    assert!(
        error.contains("the storage class local-path does not exist"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_cluster_is_not_taken_over_without_opt_in() {
    let setup = setup();
    let provider = new_provider(&setup);
    let cluster = cluster_attributes(1);
    let reply = setup
        .fake
        .call(
            "PATCH",
            &format!("{CLUSTER_PATH}?fieldManager=kubectl&force=true"),
            Some("application/apply-patch+yaml"),
            Some(r#"{"apiVersion":"postgresql.cnpg.io/v1","kind":"Cluster","metadata":{"name":"home-pg","namespace":"databases"},"spec":{"instances":1,"storage":{"size":"1Gi"}}}"#),
        )
        .unwrap();
    assert!(reply.status < 300, "{}", reply.text);
    let error = provider
        .create(&change("cluster", &cluster, &cluster))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::NotAdopted { .. }), "{error}");
    let mut adopt = change("cluster", &cluster, &cluster);
    adopt.adopt = Adoption::Allowed;
    new_provider(&setup)
        .with_force(true)
        .create(&adopt)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resource_s_context_picks_the_kubeconfig_context() {
    let setup = setup();
    let mut cluster = cluster_attributes(1);
    cluster.insert("context".to_owned(), json!("dbplan-fake"));
    new_provider(&setup)
        .create(&change("cluster", &cluster, &cluster))
        .await
        .unwrap();
    cluster.insert("context".to_owned(), json!("elsewhere"));
    let error = new_provider(&setup)
        .read(&read_request("cluster", &cluster, &cluster))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Credentials { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("elsewhere"), "{error}");
}
