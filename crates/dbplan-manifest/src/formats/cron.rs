//! CloudNativePG backups: retention policies and `ScheduledBackup` schedules (robfig/cron with
//! seconds, and the Go durations `@every` takes).

use super::{FormatError, digits, error};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_policies() {
        assert!(check_cnpg_retention_policy("7d").is_ok());
        assert!(check_cnpg_retention_policy("0d").is_err());
        assert!(check_cnpg_retention_policy("7 days").is_err());
    }

    #[test]
    fn schedules() {
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
}
