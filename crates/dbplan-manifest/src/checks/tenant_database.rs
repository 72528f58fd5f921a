use super::{Check, Checker};
use crate::codes;
use crate::formats;
use dbplan_core::kinds::tenant_database::{TENANT_SERVER_KINDS, TenantDatabaseSpec};

impl Check for TenantDatabaseSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        let name = checker.metadata.name.clone();
        let database = self.database_name(&name).to_owned();
        let pointer = if self.database_name.is_some() {
            "/spec/database_name"
        } else {
            "/metadata/name"
        };
        checker.format(
            pointer,
            formats::check_postgres_identifier(&database, "database name"),
        );
        let owner = self.owner(&name);
        let pointer = if self.owner.is_some() {
            "/spec/owner"
        } else {
            pointer
        };
        checker.format(
            pointer,
            formats::check_postgres_identifier(&owner, "role name"),
        );
        for (index, extension) in self.extensions.iter().enumerate() {
            let valid = !extension.is_empty()
                && extension.len() <= 63
                && extension
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !valid {
                checker.report(
                    codes::BAD_FORMAT,
                    &format!("/spec/extensions/{index}"),
                    format!("{extension:?} is not an extension name"),
                    "write the name as `CREATE EXTENSION` takes it, e.g. `pgcrypto` or `uuid-ossp`",
                );
            }
        }
        let (kind, _) = self.server();
        if !TENANT_SERVER_KINDS.contains(&kind) {
            checker.report(
                codes::BAD_ENUM,
                "/spec/server/kind",
                format!("a tenant database cannot live on a {kind}"),
                format!("use one of: {}", TENANT_SERVER_KINDS.join(", ")),
            );
        }
    }
}
