//! What the fake keeps, and how it renders it in the API's shapes.

use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// Requests served and faults injected.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// API requests received (faulted ones included), not counting `/_fake/`.
    pub requests: u64,
    /// Per `METHOD /path/template`.
    pub by_route: BTreeMap<String, u64>,
    /// Faults injected, per kind (`429`, `500`, `stall`).
    pub faults: BTreeMap<String, u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Creating,
    Resizing,
    Online,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Resizing => "resizing",
            Status::Online => "online",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub(crate) uuid: String,
    pub(crate) kind: String,
    pub(crate) value: String,
    pub(crate) description: Option<String>,
    pub(crate) created_at: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Pool {
    pub(crate) name: String,
    pub(crate) mode: String,
    pub(crate) size: i64,
    pub(crate) db: String,
    pub(crate) user: String,
}

#[derive(Clone, Debug)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) role: &'static str,
    pub(crate) password: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Cluster {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) engine: String,
    pub(crate) version: String,
    pub(crate) num_nodes: i64,
    pub(crate) size: String,
    pub(crate) region: String,
    pub(crate) private_network_uuid: String,
    pub(crate) tags: Vec<String>,
    pub(crate) project_id: Option<String>,
    pub(crate) storage_size_mib: i64,
    pub(crate) created_at: String,
    pub(crate) status: Status,
    /// When `creating` or `resizing` ends.
    pub(crate) busy_until: Option<Instant>,
    /// `(day, "HH:MM:SS")`.
    pub(crate) maintenance: (String, String),
    pub(crate) rules: Vec<Rule>,
    pub(crate) pools: Vec<Pool>,
    pub(crate) dbs: Vec<String>,
    pub(crate) users: Vec<User>,
    pub(crate) ca: String,
    /// The account-unique number in the cluster's host names.
    pub(crate) host_number: u64,
    /// The host name of the server behind the cluster ([`crate::digitalocean::SqlBackend`]),
    /// instead of a DigitalOcean one.
    pub(crate) backend_host: Option<String>,
}

impl Cluster {
    /// Moves `creating`/`resizing` to `online` once its time has come.
    pub(crate) fn settle(&mut self, now: Instant) {
        if let Some(until) = self.busy_until
            && now >= until
        {
            self.status = Status::Online;
            self.busy_until = None;
        }
    }

    pub(crate) fn host(&self) -> String {
        if let Some(host) = &self.backend_host {
            return host.clone();
        }
        format!(
            "{}-do-user-{}-0.f.db.ondigitalocean.com",
            self.name, self.host_number
        )
    }

    pub(crate) fn admin(&self) -> Option<&User> {
        self.users.iter().find(|user| user.role == "primary")
    }

    fn port(&self) -> i64 {
        match self.engine.as_str() {
            "mongodb" => 27017,
            "kafka" => 25073,
            "opensearch" => 25060,
            _ => 25060,
        }
    }

    fn scheme(&self) -> &'static str {
        match self.engine.as_str() {
            "mysql" => "mysql",
            "redis" | "valkey" => "rediss",
            "mongodb" => "mongodb+srv",
            "opensearch" => "https",
            _ => "postgresql",
        }
    }

    fn default_database(&self) -> &'static str {
        match self.engine.as_str() {
            "pg" | "mysql" => "defaultdb",
            "mongodb" => "admin",
            _ => "",
        }
    }

    /// A `connection` object: `prefix` is `""`, `private-`, `replica-` or `private-replica-`.
    fn connection(&self, prefix: &str, user: &User, port: i64, database: &str) -> Value {
        let host = format!("{prefix}{}", self.host());
        let path = if database.is_empty() {
            String::new()
        } else {
            format!("/{database}")
        };
        json!({
            "uri": format!(
                "{}://{}:{}@{host}:{port}{path}?sslmode=require",
                self.scheme(), user.name, user.password
            ),
            "database": database,
            "host": host,
            "port": port,
            "user": user.name,
            "password": user.password,
            "ssl": true,
        })
    }

    pub(crate) fn rule_json(&self, rule: &Rule) -> Value {
        let mut value = json!({
            "uuid": rule.uuid,
            "cluster_uuid": self.id,
            "type": rule.kind,
            "value": rule.value,
            "created_at": rule.created_at,
        });
        if let Some(description) = &rule.description {
            value["description"] = json!(description);
        }
        value
    }

    pub(crate) fn user_json(user: &User) -> Value {
        json!({"name": user.name, "role": user.role, "password": user.password})
    }

    pub(crate) fn pool_json(&self, pool: &Pool) -> Value {
        let user = self
            .users
            .iter()
            .find(|user| user.name == pool.user)
            .cloned()
            .unwrap_or(User {
                name: pool.user.clone(),
                role: "normal",
                password: String::new(),
            });
        let mut value = json!({
            "name": pool.name,
            "mode": pool.mode,
            "size": pool.size,
            "db": pool.db,
            "user": pool.user,
            "connection": self.connection("", &user, 25061, &pool.name),
            "private_connection": self.connection("private-", &user, 25061, &pool.name),
        });
        if self.num_nodes > 1 {
            value["standby_connection"] = self.connection("replica-", &user, 25061, &pool.name);
            value["standby_private_connection"] =
                self.connection("private-replica-", &user, 25061, &pool.name);
        }
        value
    }

    pub(crate) fn json(&self) -> Value {
        let fallback = User {
            name: "doadmin".to_owned(),
            role: "primary",
            password: String::new(),
        };
        let admin = self.admin().unwrap_or(&fallback);
        let database = self.default_database();
        let major = self.version.split('.').next().unwrap_or_default();
        let mut value = json!({
            "id": self.id,
            "name": self.name,
            "engine": self.engine,
            "version": self.version,
            "semantic_version": format!("{major}.4"),
            "num_nodes": self.num_nodes,
            "size": self.size,
            "region": self.region,
            "status": self.status.as_str(),
            "created_at": self.created_at,
            "private_network_uuid": self.private_network_uuid,
            "tags": if self.tags.is_empty() { Value::Null } else { json!(self.tags) },
            "db_names": if database.is_empty() { Value::Null } else { json!(self.dbs) },
            "connection": self.connection("", admin, self.port(), database),
            "private_connection": self.connection("private-", admin, self.port(), database),
            "users": self.users.iter().map(Cluster::user_json).collect::<Vec<_>>(),
            "maintenance_window": {
                "day": self.maintenance.0,
                "hour": self.maintenance.1,
                "pending": false,
                "description": [],
            },
            "rules": self.rules.iter().map(|rule| self.rule_json(rule)).collect::<Vec<_>>(),
            "storage_size_mib": self.storage_size_mib,
            "metrics_endpoints": [{"host": self.host(), "port": 9273}],
        });
        if let Some(project) = &self.project_id {
            value["project_id"] = json!(project);
        }
        if self.num_nodes > 1 {
            value["standby_connection"] = self.connection("replica-", admin, self.port(), database);
            value["standby_private_connection"] =
                self.connection("private-replica-", admin, self.port(), database);
        }
        value
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Vpc {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) region: String,
    pub(crate) ip_range: String,
    pub(crate) default: bool,
    pub(crate) created_at: String,
}

impl Vpc {
    pub(crate) fn json(&self) -> Value {
        json!({
            "id": self.id,
            "urn": format!("do:vpc:{}", self.id),
            "name": self.name,
            "description": self.description,
            "region": self.region,
            "ip_range": self.ip_range,
            "default": self.default,
            "created_at": self.created_at,
        })
    }
}

/// Everything the fake account holds.
#[derive(Debug, Default)]
pub(crate) struct World {
    pub(crate) clusters: Vec<Cluster>,
    pub(crate) vpcs: Vec<Vpc>,
    pub(crate) tags: BTreeSet<String>,
    pub(crate) passwords: Vec<String>,
    pub(crate) next_host: u64,
}
