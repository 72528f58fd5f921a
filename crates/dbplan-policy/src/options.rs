//! Provider constraint data the policies check against, embedded at build time from
//! `policies/data/`, each file with the date it was taken.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// How old the data may get before `lint` prints a notice.
pub const STALE_AFTER_DAYS: i64 = 180;

const DIGITALOCEAN_OPTIONS: &str =
    include_str!("../../../policies/data/digitalocean-database-options.json");

/// A snapshot of DigitalOcean's `GET /v2/databases/options`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Snapshot {
    pub snapshot: SnapshotInfo,
    /// Per engine slug (`pg`, `mysql`, `valkey`, …): what DigitalOcean offers.
    pub options: BTreeMap<String, EngineOptions>,
    /// Per engine slug: the end-of-life and end-of-availability dates of each version.
    #[serde(default)]
    pub version_availability: BTreeMap<String, Vec<VersionAvailability>>,
}

/// One entry of `version_availability`: dates are RFC 3339 timestamps, absent when DigitalOcean
/// has announced none.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct VersionAvailability {
    pub version: String,
    #[serde(default)]
    pub end_of_life: Option<String>,
    #[serde(default)]
    pub end_of_availability: Option<String>,
    #[serde(default)]
    pub default: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SnapshotInfo {
    /// `YYYY-MM-DD`.
    pub taken: String,
    pub source: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct EngineOptions {
    pub regions: Vec<String>,
    pub versions: Vec<String>,
    pub layouts: Vec<Layout>,
}

/// Node counts and the size slugs offered at that count.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Layout {
    pub num_nodes: u32,
    pub sizes: Vec<String>,
}

static SNAPSHOT: LazyLock<Snapshot> = LazyLock::new(|| {
    // The file is ours and checked by a test; an unreadable one leaves the rules without data
    // (they then report that they cannot decide) rather than stopping lint.
    serde_json::from_str(DIGITALOCEAN_OPTIONS).unwrap_or_default()
});

impl Snapshot {
    /// The embedded DigitalOcean options snapshot.
    pub fn digitalocean() -> &'static Snapshot {
        &SNAPSHOT
    }

    /// Days from the snapshot to `today` (days since 1970-01-01), if the date parses.
    pub fn age_days(&self, today: i64) -> Option<i64> {
        parse_date(&self.snapshot.taken).map(|taken| today - taken)
    }

    /// The end-of-life date (`YYYY-MM-DD`) of `engine`'s `version` when it falls on or before
    /// the day the snapshot was taken: the snapshot itself then says the version is retired.
    pub fn end_of_life(&self, engine: &str, version: &str) -> Option<&str> {
        let taken = parse_date(&self.snapshot.taken)?;
        let entry = self
            .version_availability
            .get(engine)?
            .iter()
            .find(|entry| entry.version == version)?;
        let date = entry.end_of_life.as_deref()?.get(..10)?;
        (parse_date(date)? <= taken).then_some(date)
    }

    /// The version DigitalOcean marks as the default for `engine`.
    pub fn default_version(&self, engine: &str) -> Option<&str> {
        self.version_availability
            .get(engine)?
            .iter()
            .find(|entry| entry.default)
            .map(|entry| entry.version.as_str())
    }

    /// A notice when the snapshot is older than [`STALE_AFTER_DAYS`].
    pub fn staleness_notice(&self, today: i64) -> Option<String> {
        let age = self.age_days(today)?;
        (age > STALE_AFTER_DAYS).then(|| {
            format!(
                "the DigitalOcean options snapshot in policies/data/ was taken on {} ({age} days ago); sizes, versions and regions may have changed: refresh it from GET /v2/databases/options",
                self.snapshot.taken
            )
        })
    }
}

/// `YYYY-MM-DD` to days since 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `days_from_civil`, written out because one date is all dbplan needs).
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    Some(era * 146_097 + day_of_era - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("2000-03-01"), Some(11_017));
        assert_eq!(parse_date("2026-11-24"), Some(20_781));
        assert_eq!(parse_date("2026-13-01"), None);
    }

    #[test]
    fn the_embedded_snapshot_parses_and_is_dated() {
        let snapshot = Snapshot::digitalocean();
        assert!(parse_date(&snapshot.snapshot.taken).is_some());
        for engine in ["pg", "mysql", "valkey", "mongodb", "kafka", "opensearch"] {
            let options = &snapshot.options[engine];
            assert!(
                !options.regions.is_empty() && !options.layouts.is_empty(),
                "{engine}"
            );
        }
        // The dates are read: pg 13 was retired before the snapshot, pg 16 was not.
        assert_eq!(snapshot.end_of_life("pg", "13"), Some("2025-11-13"));
        assert_eq!(snapshot.end_of_life("pg", "16"), None);
        assert_eq!(snapshot.default_version("pg"), Some("17"));
        let today = parse_date(&snapshot.snapshot.taken).unwrap_or(0);
        assert!(snapshot.staleness_notice(today + 10).is_none());
        assert!(snapshot.staleness_notice(today + 200).is_some());
    }
}
