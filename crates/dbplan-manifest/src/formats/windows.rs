//! Time windows: AWS's daily backup and weekly maintenance windows, and the start hour of a
//! DigitalOcean maintenance window.

use super::{FormatError, digits, error};
use std::fmt;

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
    fn digitalocean_maintenance_hours() {
        assert!(check_do_maintenance_hour("14:00").is_ok());
        assert!(check_do_maintenance_hour("14:00:00").is_ok());
        assert!(check_do_maintenance_hour("25:00").is_err());
        assert!(check_do_maintenance_hour("2pm").is_err());
    }
}
