//! Formats a JSON Schema cannot express well: AWS windows, identifiers and versions, CIDRs,
//! Kubernetes names and quantities, CloudNativePG retention and cron, PostgreSQL identifiers.
//!
//! Each check returns the parsed value (where there is one worth keeping) or a [`FormatError`]
//! with the message and the fix. The rules are AWS's, DigitalOcean's and CloudNativePG's
//! documented ones (see `../shared/specs/CONSTRAINTS.md` in the design notes), not Project
//! Planton's regular expressions, which are laxer in places.
//!
//! Written by hand: each rule is a few lines, and the error has to say which part is wrong.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

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

// ---------------------------------------------------------------------------------------------
// AWS windows
// ---------------------------------------------------------------------------------------------

/// Minutes in a day and in a week.
pub const DAY_MINUTES: u32 = 24 * 60;
pub const WEEK_MINUTES: u32 = 7 * DAY_MINUTES;

/// The shortest window AWS accepts, in minutes.
pub const MIN_WINDOW_MINUTES: u32 = 30;

/// A daily backup window (`hh24:mi-hh24:mi`, UTC), in minutes after midnight. `end` may be
/// before `start`: the window then crosses midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackupWindow {
    pub start: u32,
    pub end: u32,
}

impl BackupWindow {
    /// Length in minutes (a window crossing midnight counts on into the next day).
    pub fn minutes(&self) -> u32 {
        (self.end + DAY_MINUTES - self.start) % DAY_MINUTES
    }

    /// The window repeated on every day of the week, as half-open minute intervals of the
    /// week (Monday 00:00 = 0), split where they wrap past Sunday 24:00.
    pub fn week_intervals(&self) -> Vec<(u32, u32)> {
        let mut intervals = Vec::with_capacity(8);
        for day in 0..7 {
            let start = day * DAY_MINUTES + self.start;
            push_wrapped(&mut intervals, start, self.minutes());
        }
        intervals
    }
}

impl fmt::Display for BackupWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", clock(self.start), clock(self.end))
    }
}

/// A weekly maintenance window (`ddd:hh24:mi-ddd:hh24:mi`, UTC), in minutes after Monday
/// 00:00. `end` may be before `start`: the window then crosses Sunday→Monday.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaintenanceWindow {
    pub start: u32,
    pub end: u32,
}

impl MaintenanceWindow {
    /// Length in minutes.
    pub fn minutes(&self) -> u32 {
        (self.end + WEEK_MINUTES - self.start) % WEEK_MINUTES
    }

    /// The window as half-open minute intervals of the week, split at the week's end.
    pub fn week_intervals(&self) -> Vec<(u32, u32)> {
        let mut intervals = Vec::with_capacity(2);
        push_wrapped(&mut intervals, self.start, self.minutes());
        intervals
    }

    /// Where the windows first overlap (a minute of the week) and for how many minutes in all;
    /// `None` when they do not overlap (windows that only touch do not). An overlap that runs
    /// across Sunday→Monday starts on Sunday.
    pub fn overlap_with(&self, backup: &BackupWindow) -> Option<(u32, u32)> {
        let mut shared = Vec::new();
        for (maintenance_start, maintenance_end) in self.week_intervals() {
            for (backup_start, backup_end) in backup.week_intervals() {
                let start = maintenance_start.max(backup_start);
                let end = maintenance_end.min(backup_end);
                if start < end {
                    shared.push((start, end));
                }
            }
        }
        shared.sort_unstable();
        let total = shared.iter().map(|(start, end)| end - start).sum();
        let wraps = shared.first().is_some_and(|(start, _)| *start == 0)
            && shared.last().is_some_and(|(_, end)| *end == WEEK_MINUTES);
        let first = if wraps {
            shared.last().map(|(start, _)| *start)
        } else {
            shared.first().map(|(start, _)| *start)
        };
        first.map(|first| (first, total))
    }
}

impl fmt::Display for MaintenanceWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", week_time(self.start), week_time(self.end))
    }
}

/// Pushes `[start, start + length)` onto a week of `WEEK_MINUTES`, split at the week's end.
fn push_wrapped(intervals: &mut Vec<(u32, u32)>, start: u32, length: u32) {
    let start = start % WEEK_MINUTES;
    let end = start + length;
    if end <= WEEK_MINUTES {
        intervals.push((start, end));
    } else {
        intervals.push((start, WEEK_MINUTES));
        intervals.push((0, end - WEEK_MINUTES));
    }
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// `hh:mi` for a minute of the day.
pub fn clock(minute: u32) -> String {
    let minute = minute % DAY_MINUTES;
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// `ddd:hh:mi` for a minute of the week.
pub fn week_time(minute: u32) -> String {
    let minute = minute % WEEK_MINUTES;
    let day = DAYS.get((minute / DAY_MINUTES) as usize).unwrap_or(&"mon");
    format!("{day}:{}", clock(minute))
}

/// Parses `hh24:mi` (two digits each) into minutes after midnight.
fn parse_clock(text: &str) -> Option<u32> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let hours: u32 = digits(hours)?;
    let minutes: u32 = digits(minutes)?;
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses `ddd:hh24:mi` into minutes after Monday 00:00. Day names are AWS's three-letter ones,
/// in any case (AWS stores them lowercase).
fn parse_week_time(text: &str) -> Option<u32> {
    let (day, time) = text.split_once(':')?;
    let day = day.to_ascii_lowercase();
    let index = DAYS.iter().position(|name| *name == day)? as u32;
    Some(index * DAY_MINUTES + parse_clock(time)?)
}

/// How one kind of AWS window is written.
struct WindowFormat {
    /// "backup" or "maintenance".
    name: &'static str,
    help: &'static str,
    /// What each end must look like, for the error.
    end_format: &'static str,
    /// Parses one end into minutes (of the day or of the week).
    parse_end: fn(&str) -> Option<u32>,
    /// Minutes in the window's period (a day or a week).
    period: u32,
    /// Writes a minute of the period back in the window's format.
    show: fn(u32) -> String,
}

/// Parses `start-end` in a window format: both ends, and at least 30 minutes (a window may
/// wrap around the end of its period).
fn parse_window(text: &str, format: &WindowFormat) -> Result<(u32, u32), FormatError> {
    let name = format.name;
    let Some((start, end)) = text.split_once('-') else {
        return Err(error(
            format!("{text:?} is not a {name} window"),
            format.help,
        ));
    };
    let (Some(start), Some(end)) = ((format.parse_end)(start), (format.parse_end)(end)) else {
        return Err(error(
            format!(
                "{text:?} is not a {name} window: each end must be {}",
                format.end_format
            ),
            format.help,
        ));
    };
    let minutes = (end + format.period - start) % format.period;
    if minutes < MIN_WINDOW_MINUTES {
        return Err(error(
            format!(
                "the {name} window {text:?} lasts {minutes} minutes; AWS requires at least {MIN_WINDOW_MINUTES}"
            ),
            format!(
                "widen it, e.g. `{}-{}`",
                (format.show)(start),
                (format.show)(start + MIN_WINDOW_MINUTES)
            ),
        ));
    }
    Ok((start, end))
}

/// `preferred_backup_window`: `hh24:mi-hh24:mi` in UTC, at least 30 minutes.
pub fn parse_backup_window(text: &str) -> Result<BackupWindow, FormatError> {
    let (start, end) = parse_window(
        text,
        &WindowFormat {
            name: "backup",
            help: "write the daily window in UTC as `hh24:mi-hh24:mi`, at least 30 minutes, e.g. `03:00-03:30`",
            end_format: "`hh24:mi` with two-digit hours (00-23) and minutes (00-59)",
            parse_end: parse_clock,
            period: DAY_MINUTES,
            show: clock,
        },
    )?;
    Ok(BackupWindow { start, end })
}

/// `preferred_maintenance_window`: `ddd:hh24:mi-ddd:hh24:mi` in UTC, at least 30 minutes; it may
/// cross midnight and the Sunday→Monday boundary.
pub fn parse_maintenance_window(text: &str) -> Result<MaintenanceWindow, FormatError> {
    let (start, end) = parse_window(
        text,
        &WindowFormat {
            name: "maintenance",
            help: "write the weekly window in UTC as `ddd:hh24:mi-ddd:hh24:mi` with days mon, tue, wed, thu, fri, sat, sun, at least 30 minutes, e.g. `sun:04:00-sun:04:30`",
            end_format: "a three-letter day, then `hh24:mi`",
            parse_end: parse_week_time,
            period: WEEK_MINUTES,
            show: week_time,
        },
    )?;
    Ok(MaintenanceWindow { start, end })
}

// ---------------------------------------------------------------------------------------------
// CIDRs
// ---------------------------------------------------------------------------------------------

/// An IPv4 network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Cidr {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

impl Ipv4Cidr {
    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - u32::from(prefix.min(32)))
        }
    }

    /// Whether `other` lies entirely inside this network.
    pub fn contains(&self, other: &Ipv4Cidr) -> bool {
        other.prefix >= self.prefix
            && u32::from(other.address) & Self::mask(self.prefix) == u32::from(self.address)
    }

    /// Whether the network is `0.0.0.0/0`, the whole Internet.
    pub fn is_any(&self) -> bool {
        self.prefix == 0
    }

    /// Whether the whole network is private address space (RFC 1918).
    pub fn is_private(&self) -> bool {
        PRIVATE_RANGES.iter().any(|range| range.contains(self))
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

const PRIVATE_RANGES: [Ipv4Cidr; 3] = [
    Ipv4Cidr {
        address: Ipv4Addr::new(10, 0, 0, 0),
        prefix: 8,
    },
    Ipv4Cidr {
        address: Ipv4Addr::new(172, 16, 0, 0),
        prefix: 12,
    },
    Ipv4Cidr {
        address: Ipv4Addr::new(192, 168, 0, 0),
        prefix: 16,
    },
];

/// An IPv4 CIDR block such as `10.0.0.0/16`: four decimal octets, a prefix length of 0 to 32,
/// and no host bits set.
pub fn parse_ipv4_cidr(text: &str) -> Result<Ipv4Cidr, FormatError> {
    let help =
        "write an IPv4 network in CIDR notation, e.g. `10.0.0.0/16` (a single address is `/32`)";
    let Some((address, prefix)) = text.split_once('/') else {
        return Err(error(
            format!("{text:?} is not a CIDR block: the `/prefix` is missing"),
            help,
        ));
    };
    let Ok(address) = address.parse::<Ipv4Addr>() else {
        return Err(error(
            format!(
                "{text:?} is not a CIDR block: {address:?} is not an IPv4 address (four numbers 0-255)"
            ),
            help,
        ));
    };
    let Some(prefix) = digits(prefix).filter(|prefix| *prefix <= 32) else {
        return Err(error(
            format!("{text:?} is not a CIDR block: the prefix length must be 0 to 32"),
            help,
        ));
    };
    let prefix = prefix as u8;
    let network = Ipv4Addr::from(u32::from(address) & Ipv4Cidr::mask(prefix));
    if network != address {
        return Err(error(
            format!("{text:?} has host bits set: the network of a /{prefix} starts at {network}"),
            format!("write `{network}/{prefix}`"),
        ));
    }
    Ok(Ipv4Cidr { address, prefix })
}

/// An IPv6 network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv6Cidr {
    pub address: Ipv6Addr,
    pub prefix: u8,
}

/// An IPv6 CIDR block such as `2001:db8::/32` or `::/0`.
pub fn parse_ipv6_cidr(text: &str) -> Result<Ipv6Cidr, FormatError> {
    let help = "write an IPv6 network in CIDR notation, e.g. `2001:db8::/32` or `::/0`";
    let Some((address, prefix)) = text.split_once('/') else {
        return Err(error(
            format!("{text:?} is not an IPv6 CIDR block: the `/prefix` is missing"),
            help,
        ));
    };
    let Ok(address) = address.parse::<Ipv6Addr>() else {
        return Err(error(
            format!("{text:?} is not an IPv6 CIDR block: {address:?} is not an IPv6 address"),
            help,
        ));
    };
    let Some(prefix) = digits(prefix).filter(|prefix| *prefix <= 128) else {
        return Err(error(
            format!("{text:?} is not an IPv6 CIDR block: the prefix length must be 0 to 128"),
            help,
        ));
    };
    Ok(Ipv6Cidr {
        address,
        prefix: prefix as u8,
    })
}

/// A DigitalOcean VPC range: private (RFC 1918) and between `/16` and `/28` (DigitalOcean's VPC
/// API: "must be in range of private addresses as defined in RFC1918. It may not be smaller than
/// /28 nor larger than /16").
pub fn check_do_vpc_range(cidr: &Ipv4Cidr) -> Result<(), FormatError> {
    if !(16..=28).contains(&cidr.prefix) {
        return Err(error(
            format!(
                "a DigitalOcean VPC range must be /16 to /28, not /{}",
                cidr.prefix
            ),
            "pick a prefix length from 16 (65,536 addresses) to 28 (16), e.g. `10.10.0.0/20`",
        ));
    }
    if !cidr.is_private() {
        return Err(error(
            format!("{cidr} is not private address space"),
            "DigitalOcean VPCs use RFC 1918 ranges: inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16",
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// AWS names and versions
// ---------------------------------------------------------------------------------------------

/// The shared AWS naming rule: letters, digits and hyphens, a letter first, no trailing hyphen
/// and no two hyphens in a row. Returns every broken rule, in a sentence.
fn aws_hyphenated_name(
    text: &str,
    what: &str,
    max: usize,
    example: &str,
) -> Result<(), FormatError> {
    let mut problems = Vec::new();
    if text.is_empty() || text.len() > max {
        problems.push(format!(
            "must be 1 to {max} characters (it has {})",
            text.len()
        ));
    }
    if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        problems.push("must start with a letter".to_owned());
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        problems.push(format!(
            "may contain only letters, digits and hyphens, not {bad:?}"
        ));
    }
    if text.ends_with('-') {
        problems.push("must not end with a hyphen".to_owned());
    }
    if text.contains("--") {
        problems.push("must not contain two consecutive hyphens".to_owned());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not a valid {what}: it {}", problems.join(", ")),
            format!(
                "use letters, digits and single hyphens, starting with a letter, e.g. `{example}`"
            ),
        ))
    }
}

/// An Aurora DB cluster (or instance) identifier: 1–63 letters, digits or hyphens, a letter
/// first, no trailing hyphen, no `--`. AWS stores it lowercase.
pub fn check_aurora_cluster_identifier(text: &str) -> Result<(), FormatError> {
    aws_hyphenated_name(text, "DB cluster identifier", 63, "orders-db")
}

/// A final snapshot identifier: 1–255 letters, digits or hyphens, a letter first, no trailing
/// hyphen, no `--`.
pub fn check_final_snapshot_identifier(text: &str) -> Result<(), FormatError> {
    aws_hyphenated_name(text, "snapshot identifier", 255, "orders-db-final")
}

/// A DB cluster parameter group name: 1–255 letters, digits or hyphens, a letter first, no
/// trailing hyphen, no `--`. The groups AWS creates itself are named `default.<family>` (e.g.
/// `default.aurora-postgresql16`), with a period no user-made name may have; they are accepted.
pub fn check_parameter_group_name(text: &str) -> Result<(), FormatError> {
    if let Some(family) = text.strip_prefix("default.")
        && !family.is_empty()
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return Ok(());
    }
    aws_hyphenated_name(text, "parameter group name", 255, "orders-db-params")
}

/// A DB subnet group name: at most 255 letters, digits, periods, underscores, spaces or hyphens,
/// a letter first, and not `default`.
pub fn check_db_subnet_group_name(text: &str) -> Result<(), FormatError> {
    let help = "use letters, digits, periods, underscores, spaces or hyphens, starting with a letter, e.g. `orders-db-subnets`";
    if text.eq_ignore_ascii_case("default") {
        return Err(error(
            "a DB subnet group cannot be named `default`",
            "choose another name, e.g. `orders-db-subnets`",
        ));
    }
    let valid = !text.is_empty()
        && text.len() <= 255
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ' ' | '-'));
    if valid {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not a valid DB subnet group name"),
            help,
        ))
    }
}

/// The initial database of an Aurora cluster: a letter, then letters, digits or underscores;
/// at most 64 characters for MySQL engines, 63 for PostgreSQL ones.
pub fn check_aurora_database_name(text: &str, engine: &str) -> Result<(), FormatError> {
    let max = if engine.contains("mysql") { 64 } else { 63 };
    let valid = !text.is_empty()
        && text.len() <= max
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid database name for {engine}: it must start with a letter and have only letters, digits and underscores, at most {max} characters"
            ),
            format!("e.g. `{}`", suggest_identifier(text)),
        ))
    }
}

/// The master user name of an Aurora cluster: 1–16 letters or digits, a letter first, and not a
/// name RDS reserves.
pub fn check_aurora_master_username(text: &str) -> Result<(), FormatError> {
    const RESERVED: [&str; 3] = ["rdsadmin", "rdsrepladmin", "rds_superuser"];
    if RESERVED.contains(&text.to_ascii_lowercase().as_str()) {
        return Err(error(
            format!("{text:?} is reserved by RDS"),
            "choose another master user name, e.g. `dbadmin`",
        ));
    }
    let valid = !text.is_empty()
        && text.len() <= 16
        && text.starts_with(|c: char| c.is_ascii_alphabetic())
        && text.chars().all(|c| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid master user name: it must be 1 to 16 letters or digits, starting with a letter"
            ),
            "e.g. `dbadmin`",
        ))
    }
}

/// An engine version as RDS names them: `16.4`, `8.0.35`, `8.0.mysql_aurora.3.05.2`, optionally
/// with `-limitless`.
pub fn check_aurora_engine_version(text: &str) -> Result<(), FormatError> {
    let base = text.strip_suffix("-limitless").unwrap_or(text);
    let (numbers, aurora) = match base.split_once(".mysql_aurora.") {
        Some((numbers, aurora)) => (numbers, Some(aurora)),
        None => (base, None),
    };
    let dotted =
        |text: &str| !text.is_empty() && text.split('.').all(|part| digits(part).is_some());
    if dotted(numbers) && aurora.is_none_or(dotted) {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not an engine version"),
            "write the version RDS lists, as a quoted string: e.g. \"16.4\" for Aurora PostgreSQL or \"8.0.mysql_aurora.3.05.2\" for Aurora MySQL",
        ))
    }
}

/// An AWS region code such as `us-east-1`, `eu-central-2` or `us-gov-west-1`.
pub fn check_aws_region(text: &str) -> Result<(), FormatError> {
    if parse_region(text) {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not an AWS region code"),
            "write the region's code, e.g. `us-east-1` or `eu-central-1`",
        ))
    }
}

/// `area(-gov|-iso…)?-direction-number`, all lowercase.
fn parse_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    if parts.len() < 3 || parts.len() > 4 {
        return false;
    }
    let lower = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    parts[0].len() == 2 && words.iter().all(|part| lower(part)) && digits(number).is_some()
}

/// An Availability Zone name (`us-east-1a`, a Local Zone such as `us-west-2-lax-1a`) or zone ID
/// (`use1-az1`).
pub fn check_availability_zone(text: &str) -> Result<(), FormatError> {
    let zone_id = text.split_once("-az").is_some_and(|(region, number)| {
        region.len() >= 3
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && digits(number).is_some()
    });
    let zone_name = text
        .strip_suffix(|c: char| c.is_ascii_lowercase())
        .is_some_and(|region| {
            parse_region(region)
                || region
                    .split_once('-')
                    .and_then(|_| region.rsplit_once('-'))
                    .is_some_and(|(head, number)| {
                        // Local Zones: `<region>-<city>-<n>`.
                        digits(number).is_some()
                            && head.rsplit_once('-').is_some_and(|(region, city)| {
                                parse_region(region)
                                    && !city.is_empty()
                                    && city.bytes().all(|b| b.is_ascii_lowercase())
                            })
                    })
        });
    if zone_id || zone_name {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not an Availability Zone"),
            "write the zone's name, e.g. `us-east-1a`, or its zone ID, e.g. `use1-az1`",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// DigitalOcean
// ---------------------------------------------------------------------------------------------

/// A DigitalOcean engine version: a major version, optionally `.minor` (e.g. "16", "8.0").
pub fn check_do_engine_version(text: &str) -> Result<(), FormatError> {
    let valid = match text.split_once('.') {
        Some((major, minor)) => digits(major).is_some() && digits(minor).is_some(),
        None => digits(text).is_some(),
    };
    if valid {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not a DigitalOcean engine version"),
            "write the major version (optionally `.minor`) as a quoted string, e.g. \"16\" or \"8.0\"",
        ))
    }
}

/// The start hour of a DigitalOcean maintenance window: `HH:MM` in UTC, 24-hour.
pub fn check_do_maintenance_hour(text: &str) -> Result<(), FormatError> {
    // The API answers with `HH:MM:SS`; accept the seconds when they are zero.
    let clock_text = text
        .strip_suffix(":00")
        .filter(|_| text.len() == 8)
        .unwrap_or(text);
    if parse_clock(clock_text).is_some() {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not an hour of the day"),
            "write the start time in UTC as 24-hour `HH:MM`, e.g. \"14:00\" (quote it)",
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes and CloudNativePG
// ---------------------------------------------------------------------------------------------

/// A Kubernetes name (DNS-1123 label): 1–63 lowercase letters, digits or hyphens, starting and
/// ending with a letter or digit.
pub fn check_kubernetes_name(text: &str) -> Result<(), FormatError> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !text.is_empty()
        && text.len() <= 63
        && text.starts_with(alphanumeric)
        && text.ends_with(alphanumeric)
        && text.chars().all(|c| alphanumeric(c) || c == '-');
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid Kubernetes name: it must be 1 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit"
            ),
            format!("e.g. `{}`", suggest_kubernetes_name(text)),
        ))
    }
}

/// A Kubernetes quantity such as `10Gi`, `500Mi` or `1e9`.
pub fn check_kubernetes_quantity(text: &str) -> Result<(), FormatError> {
    const SUFFIXES: [&str; 16] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "", "k", "M", "G", "T", "P", "E",
    ];
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    let number_ok = !number.is_empty()
        && number != "."
        && number.matches('.').count() <= 1
        && number.bytes().any(|b| b.is_ascii_digit());
    let exponent_ok = |suffix: &str| {
        suffix
            .strip_prefix(['e', 'E'])
            .map(|rest| rest.strip_prefix(['+', '-']).unwrap_or(rest))
            .is_some_and(|rest| digits(rest).is_some())
    };
    if number_ok && (SUFFIXES.contains(&suffix) || exponent_ok(suffix)) {
        return Ok(());
    }
    let hint = match suffix {
        "GB" | "gb" | "G" | "g" | "GiB" => format!("`{number}Gi`"),
        "MB" | "mb" | "MiB" => format!("`{number}Mi`"),
        "TB" | "tb" | "TiB" => format!("`{number}Ti`"),
        _ => "`10Gi`".to_owned(),
    };
    Err(error(
        format!("{text:?} is not a Kubernetes quantity"),
        format!("write a number with a binary suffix (Ki, Mi, Gi, Ti), e.g. {hint}"),
    ))
}

/// A CloudNativePG retention policy: a positive number and `d`, `w` or `m` (`^[1-9][0-9]*[dwm]$`).
pub fn check_cnpg_retention_policy(text: &str) -> Result<(), FormatError> {
    let valid = text
        .strip_suffix(['d', 'w', 'm'])
        .is_some_and(|number| !number.starts_with('0') && digits(number).is_some());
    if valid {
        Ok(())
    } else {
        Err(error(
            format!("{text:?} is not a CloudNativePG retention policy"),
            "write a positive number and a unit, d (days), w (weeks) or m (months), e.g. `7d` or `30d`",
        ))
    }
}

/// A ScheduledBackup schedule: robfig/cron with a seconds field first (6 fields:
/// `second minute hour day-of-month month day-of-week`), or a descriptor such as `@daily` or
/// `@every 1h30m`.
///
/// Written by hand because no maintained crate parses exactly robfig's dialect: seconds first,
/// `?` in the day fields, `@every` durations, and no year field.
pub fn parse_cnpg_schedule(text: &str) -> Result<(), FormatError> {
    let help = "CloudNativePG schedules have six fields with seconds first, e.g. \"0 0 3 * * *\" for 03:00 every day";
    let text = text.trim();
    if let Some(descriptor) = text.strip_prefix('@') {
        return match descriptor.split_once(' ') {
            Some(("every", duration)) if parse_go_duration(duration.trim()) => Ok(()),
            None if matches!(
                descriptor,
                "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly"
            ) =>
            {
                Ok(())
            }
            _ => Err(error(
                format!("{text:?} is not a schedule descriptor"),
                "use @yearly, @monthly, @weekly, @daily, @hourly or `@every <duration>` (e.g. `@every 6h`)",
            )),
        };
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 6 {
        let extra = if fields.len() == 5 {
            format!(
                "; as a Kubernetes CronJob schedule this would be \"0 {}\"",
                fields.join(" ")
            )
        } else {
            String::new()
        };
        return Err(error(
            format!(
                "{text:?} has {} fields, a CloudNativePG schedule has 6 (seconds first){extra}",
                fields.len()
            ),
            help,
        ));
    }
    const FIELDS: [(&str, u32, u32, Option<&[&str]>); 6] = [
        ("second", 0, 59, None),
        ("minute", 0, 59, None),
        ("hour", 0, 23, None),
        ("day of month", 1, 31, None),
        (
            "month",
            1,
            12,
            Some(&[
                "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
            ]),
        ),
        (
            "day of week",
            0,
            6,
            Some(&["sun", "mon", "tue", "wed", "thu", "fri", "sat"]),
        ),
    ];
    for (index, (field, (name, min, max, names))) in fields.iter().zip(FIELDS).enumerate() {
        let question_mark_allowed = index == 3 || index == 5;
        if !cron_field(field, min, max, names, question_mark_allowed) {
            return Err(error(
                format!(
                    "{text:?}: the {name} field {field:?} is not valid (values {min}-{max}, `*`, lists, ranges and `/steps`)"
                ),
                help,
            ));
        }
    }
    Ok(())
}

fn cron_field(
    field: &str,
    min: u32,
    max: u32,
    names: Option<&[&str]>,
    question_mark_allowed: bool,
) -> bool {
    if field == "?" {
        return question_mark_allowed;
    }
    let value = |text: &str| -> Option<u32> {
        if let Some(number) = digits(text) {
            return (min..=max).contains(&number).then_some(number);
        }
        let lower = text.to_ascii_lowercase();
        names?
            .iter()
            .position(|name| *name == lower)
            .map(|index| index as u32 + min)
    };
    field.split(',').all(|part| {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (part, None),
        };
        if let Some(step) = step
            && digits(step).is_none_or(|step| step == 0)
        {
            return false;
        }
        if range == "*" {
            return true;
        }
        match range.split_once('-') {
            Some((low, high)) => match (value(low), value(high)) {
                (Some(low), Some(high)) => low <= high,
                _ => false,
            },
            None => value(range).is_some(),
        }
    })
}

/// A Go duration such as `1h30m`, `90s` or `1.5h` (what robfig's `@every` takes).
fn parse_go_duration(text: &str) -> bool {
    let mut rest = text;
    let mut any = false;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if number_end == 0 {
            return false;
        }
        rest = &rest[number_end..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h"]
            .into_iter()
            .find(|unit| rest.starts_with(unit));
        match unit {
            Some(unit) => rest = &rest[unit.len()..],
            None => return false,
        }
        any = true;
    }
    any
}

// ---------------------------------------------------------------------------------------------
// Names of dbplan resources and PostgreSQL objects
// ---------------------------------------------------------------------------------------------

/// `metadata.name`: 1–253 letters, digits, `-`, `_` or `.`, since it becomes part of resource
/// addresses (`Kind/name`), file names and cloud names.
pub fn check_resource_name(text: &str) -> Result<(), FormatError> {
    let valid = !text.is_empty()
        && text.len() <= 253
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid resource name: it must be 1 to 253 letters, digits, `-`, `_` or `.`"
            ),
            format!("e.g. `{}`", suggest_kubernetes_name(text)),
        ))
    }
}

/// Names PostgreSQL or dbplan keeps for itself, as database or role names.
const RESERVED_DATABASES: [&str; 3] = ["postgres", "template0", "template1"];
const RESERVED_ROLES: [&str; 6] = [
    "postgres",
    "public",
    "current_user",
    "session_user",
    "current_role",
    "none",
];

/// A database or role name dbplan creates: 1–63 bytes (PostgreSQL's `NAMEDATALEN - 1`; longer
/// names are silently truncated), lowercase letters, digits, `_` and `-`, a letter or `_` first;
/// not a name PostgreSQL keeps (`postgres`, `template0`, `template1`, `public`, roles starting
/// with `pg_`). dbplan always quotes identifiers, but a name outside this set is almost always a
/// mistake (or an attempt at injection) and is refused before it reaches a server.
pub fn check_postgres_identifier(text: &str, what: &str) -> Result<(), FormatError> {
    let lower = text.to_ascii_lowercase();
    let reserved = if what.contains("role") {
        RESERVED_ROLES.contains(&lower.as_str()) || lower.starts_with("pg_")
    } else {
        RESERVED_DATABASES.contains(&lower.as_str())
    };
    if reserved {
        return Err(error(
            format!("{text:?} is reserved by PostgreSQL and cannot be a {what} dbplan manages"),
            format!(
                "choose another {what}, e.g. `app_{}`",
                suggest_identifier(text)
            ),
        ));
    }
    if text.is_empty() || text.len() > 63 {
        return Err(error(
            format!(
                "the {what} {text:?} is {} bytes long; PostgreSQL names are 1 to 63 bytes",
                text.len()
            ),
            format!("shorten it, e.g. `{}`", suggest_identifier(text)),
        ));
    }
    let valid = text.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid {what}: use lowercase letters, digits, `_` and `-`, starting with a letter or `_`"
            ),
            format!("e.g. `{}`", suggest_identifier(text)),
        ))
    }
}

/// A lowercase identifier made from the letters and digits of `text`, for suggestions.
fn suggest_identifier(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_owned();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "db_");
    }
    out.truncate(63);
    out
}

/// A DNS-label form of `text`, for suggestions.
fn suggest_kubernetes_name(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(63);
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "my-resource".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_windows() {
        assert_eq!(
            parse_backup_window("03:00-03:30"),
            Ok(BackupWindow {
                start: 180,
                end: 210
            })
        );
        let midnight = parse_backup_window("23:30-00:30").map(|w| w.minutes());
        assert_eq!(midnight, Ok(60));
        assert!(parse_backup_window("3:00-03:30").is_err());
        assert!(parse_backup_window("03:00-03:29").is_err());
        assert!(parse_backup_window("24:00-00:30").is_err());
        assert!(parse_backup_window("03:00-03:00").is_err());
        assert!(parse_backup_window("03:00").is_err());
    }

    #[test]
    fn maintenance_windows() {
        let window = parse_maintenance_window("sun:23:45-mon:00:15");
        assert_eq!(window.map(|w| w.minutes()), Ok(30));
        assert!(parse_maintenance_window("Sun:04:00-Sun:04:30").is_ok());
        assert!(parse_maintenance_window("sunday:04:00-sun:04:30").is_err());
        assert!(parse_maintenance_window("sun:04:00-sun:04:10").is_err());
        assert!(parse_maintenance_window("sun:04:00").is_err());
    }

    #[test]
    fn overlap_on_the_week() {
        let backup =
            parse_backup_window("23:30-00:30").unwrap_or(BackupWindow { start: 0, end: 0 });
        let crossing = parse_maintenance_window("sun:23:45-mon:00:15")
            .unwrap_or(MaintenanceWindow { start: 0, end: 0 });
        assert_eq!(
            crossing.overlap_with(&backup),
            Some((6 * DAY_MINUTES + 23 * 60 + 45, 30))
        );
        let touching = parse_maintenance_window("mon:00:30-mon:01:00")
            .unwrap_or(MaintenanceWindow { start: 0, end: 0 });
        assert_eq!(touching.overlap_with(&backup), None);
        let inside = parse_maintenance_window("wed:00:00-wed:00:45")
            .unwrap_or(MaintenanceWindow { start: 0, end: 0 });
        assert_eq!(inside.overlap_with(&backup), Some((2 * DAY_MINUTES, 30)));
    }

    #[test]
    fn cidrs() {
        assert!(parse_ipv4_cidr("10.0.0.0/16").is_ok());
        assert!(parse_ipv4_cidr("0.0.0.0/0").is_ok_and(|c| c.is_any()));
        assert!(parse_ipv4_cidr("10.0.0.0/33").is_err());
        assert!(parse_ipv4_cidr("10.0.0/16").is_err());
        assert!(parse_ipv4_cidr("10.0.0.1/16").is_err());
        assert!(parse_ipv4_cidr("010.0.0.0/8").is_err());
        assert!(parse_ipv6_cidr("::/0").is_ok());
        assert!(parse_ipv6_cidr("2001:db8::/129").is_err());
        let range = |text| parse_ipv4_cidr(text).map(|cidr| check_do_vpc_range(&cidr));
        assert_eq!(range("10.10.0.0/20"), Ok(Ok(())));
        assert!(matches!(range("10.0.0.0/8"), Ok(Err(_))));
        assert!(matches!(range("100.64.0.0/16"), Ok(Err(_))));
        assert_eq!(range("192.168.1.0/28"), Ok(Ok(())));
    }

    #[test]
    fn aws_names() {
        assert!(check_aurora_cluster_identifier("orders-db").is_ok());
        let error = check_aurora_cluster_identifier("Orders--DB-").err();
        assert!(error.is_some_and(
            |e| e.message.contains("end with a hyphen") && e.message.contains("consecutive")
        ));
        assert!(check_aurora_cluster_identifier("1db").is_err());
        assert!(check_aurora_cluster_identifier(&"a".repeat(64)).is_err());
        assert!(check_db_subnet_group_name("default").is_err());
        assert!(check_parameter_group_name("default.aurora-postgresql16").is_ok());
        assert!(check_parameter_group_name("default.aurora-mysql8.0").is_ok());
        assert!(check_parameter_group_name("orders.params").is_err());
        assert!(check_db_subnet_group_name("orders db_subnets.v1").is_ok());
        assert!(check_aurora_database_name("orders", "aurora-postgresql").is_ok());
        assert!(check_aurora_database_name("orders-db", "aurora-postgresql").is_err());
        assert!(check_aurora_database_name(&"a".repeat(64), "aurora-mysql").is_ok());
        assert!(check_aurora_database_name(&"a".repeat(64), "aurora-postgresql").is_err());
        assert!(check_aurora_master_username("dbadmin").is_ok());
        assert!(check_aurora_master_username("9admin").is_err());
        assert!(check_aurora_master_username("rdsadmin").is_err());
        assert!(check_aurora_master_username("a_b").is_err());
    }

    #[test]
    fn versions_regions_and_zones() {
        for version in ["16.4", "14", "8.0.mysql_aurora.3.05.2", "16.4-limitless"] {
            assert!(check_aurora_engine_version(version).is_ok(), "{version}");
        }
        for version in ["sixteen", "16.", "8.0.mysql_aurora.", ""] {
            assert!(check_aurora_engine_version(version).is_err(), "{version}");
        }
        for region in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(check_aws_region(region).is_ok(), "{region}");
        }
        for region in ["US East", "us-east", "useast1", "us-east-1a"] {
            assert!(check_aws_region(region).is_err(), "{region}");
        }
        for zone in [
            "us-east-1a",
            "use1-az1",
            "us-west-2-lax-1a",
            "eu-central-1c",
        ] {
            assert!(check_availability_zone(zone).is_ok(), "{zone}");
        }
        for zone in ["US East", "us-east-1", "a"] {
            assert!(check_availability_zone(zone).is_err(), "{zone}");
        }
        assert!(check_do_engine_version("16").is_ok());
        assert!(check_do_engine_version("8.0").is_ok());
        assert!(check_do_engine_version("16.1.2").is_err());
        assert!(check_do_engine_version("latest").is_err());
        assert!(check_do_maintenance_hour("14:00").is_ok());
        assert!(check_do_maintenance_hour("14:00:00").is_ok());
        assert!(check_do_maintenance_hour("25:00").is_err());
        assert!(check_do_maintenance_hour("2pm").is_err());
    }

    #[test]
    fn kubernetes_and_cnpg() {
        assert!(check_kubernetes_name("home-pg").is_ok());
        assert!(check_kubernetes_name("Home_PG").is_err());
        assert!(check_kubernetes_quantity("10Gi").is_ok());
        assert!(check_kubernetes_quantity("1.5Gi").is_ok());
        assert!(check_kubernetes_quantity("1e9").is_ok());
        let error = check_kubernetes_quantity("20GB").err();
        assert!(error.is_some_and(|e| e.help.contains("`20Gi`")));
        assert!(check_cnpg_retention_policy("7d").is_ok());
        assert!(check_cnpg_retention_policy("0d").is_err());
        assert!(check_cnpg_retention_policy("7 days").is_err());
        assert!(parse_cnpg_schedule("0 0 3 * * *").is_ok());
        assert!(parse_cnpg_schedule("0 */15 * * * mon-fri").is_ok());
        assert!(parse_cnpg_schedule("0 0 0 1 jan ?").is_ok());
        assert!(parse_cnpg_schedule("@daily").is_ok());
        assert!(parse_cnpg_schedule("@every 1h30m").is_ok());
        assert!(parse_cnpg_schedule("@every soon").is_err());
        let five = parse_cnpg_schedule("0 3 * * *").err();
        assert!(five.is_some_and(|e| e.message.contains("\"0 0 3 * * *\"")));
        assert!(parse_cnpg_schedule("60 0 3 * * *").is_err());
        assert!(parse_cnpg_schedule("0 0 3 ? * ?").is_ok());
        assert!(parse_cnpg_schedule("0 0 ? * * *").is_err());
        assert!(parse_cnpg_schedule("0 0 3 * * * 2026").is_err());
        assert!(parse_cnpg_schedule("0 0/0 3 * * *").is_err());
    }

    #[test]
    fn postgres_identifiers() {
        assert!(check_postgres_identifier("billing", "database name").is_ok());
        assert!(check_postgres_identifier("billing_user", "role name").is_ok());
        assert!(check_postgres_identifier("orders-db", "database name").is_ok());
        for hostile in [
            "x\"; DROP DATABASE postgres; --",
            "Billing",
            "a b",
            "1db",
            "",
        ] {
            assert!(
                check_postgres_identifier(hostile, "database name").is_err(),
                "{hostile}"
            );
        }
        assert!(check_postgres_identifier(&"a".repeat(64), "database name").is_err());
        assert!(check_postgres_identifier(&"a".repeat(63), "database name").is_ok());
        for reserved in ["postgres", "template0", "template1"] {
            assert!(check_postgres_identifier(reserved, "database name").is_err());
        }
        for reserved in ["postgres", "public", "pg_monitor"] {
            assert!(check_postgres_identifier(reserved, "role name").is_err());
        }
        assert!(check_resource_name("prod-postgres").is_ok());
        assert!(check_resource_name("a/b").is_err());
        assert!(check_resource_name("").is_err());
    }
}
