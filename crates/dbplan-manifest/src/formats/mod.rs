//! Formats a JSON Schema cannot express well: AWS windows, identifiers and versions, CIDRs,
//! Kubernetes names and quantities, CloudNativePG retention and cron, PostgreSQL identifiers.
//!
//! Each check returns the parsed value (where there is one worth keeping) or a [`FormatError`]
//! with the message and the fix. The rules are AWS's, DigitalOcean's and CloudNativePG's
//! documented ones (see `../shared/specs/CONSTRAINTS.md` in the design notes), not Project
//! Planton's regular expressions, which are laxer in places.
//!
//! Written by hand: each rule is a few lines, and the error has to say which part is wrong.

mod aws_names;
mod cron;
mod kubernetes;
mod names;
mod network;
mod regions;
mod versions;
mod windows;

pub use aws_names::{
    check_aurora_cluster_identifier, check_aurora_database_name, check_aurora_master_username,
    check_db_subnet_group_name, check_final_snapshot_identifier, check_parameter_group_name,
};
pub use cron::{check_cnpg_retention_policy, parse_cnpg_schedule};
pub use kubernetes::{
    check_kubernetes_name, check_kubernetes_quantity, check_kubernetes_subdomain,
};
pub use names::{check_postgres_identifier, check_resource_name};
pub use network::{Ipv4Cidr, Ipv6Cidr, check_do_vpc_range, parse_ipv4_cidr, parse_ipv6_cidr};
pub use regions::{check_availability_zone, check_aws_region};
pub use versions::{check_aurora_engine_version, check_do_engine_version};
pub use windows::{
    BackupWindow, DAY_MINUTES, MIN_WINDOW_MINUTES, MaintenanceWindow, WEEK_MINUTES,
    check_do_maintenance_hour, clock, parse_backup_window, parse_maintenance_window, week_time,
};

/// A value in the wrong format: what is wrong, and how to write it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError {
    pub message: String,
    pub help: String,
}

fn error(message: impl Into<String>, help: impl Into<String>) -> FormatError {
    FormatError {
        message: message.into(),
        help: help.into(),
    }
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
