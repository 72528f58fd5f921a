//! The timeout settings every network client of dbplan reads from the environment (the providers
//! and the PostgreSQL state backend), so that a network peer that accepts the connection and
//! never answers fails the resource, or the state's read or write, instead of holding the apply
//! (and the state lock) forever.
//!
//! | variable | default |
//! | --- | --- |
//! | [`CONNECT_VARIABLE`] (`DBPLAN_CONNECT_TIMEOUT`) | [`DEFAULT_CONNECT`] (10 s) |
//! | [`READ_VARIABLE`] (`DBPLAN_READ_TIMEOUT`) | [`DEFAULT_READ`] (60 s) |
//!
//! What each bounds is the provider's to say (a statement, an HTTP attempt, …), and a provider
//! may read more variables the same way (PostgreSQL's `DBPLAN_LONG_STATEMENT_TIMEOUT`). Values
//! are seconds, decimals allowed (`0.5`), above 0 and at most [`MAX_SECONDS`] (a day); anything
//! else is an error naming the variable ([`BadTimeout`]), never a silent fallback to the
//! default.

use std::time::Duration;

/// Bounds connecting to the remote system.
pub const CONNECT_VARIABLE: &str = "DBPLAN_CONNECT_TIMEOUT";
/// Bounds waiting for the remote system's answer.
pub const READ_VARIABLE: &str = "DBPLAN_READ_TIMEOUT";
/// The bound when [`CONNECT_VARIABLE`] is not set.
pub const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
/// The bound when [`READ_VARIABLE`] is not set.
pub const DEFAULT_READ: Duration = Duration::from_secs(60);
/// The longest bound a variable may set (a day); longer ones are refused rather than waited.
pub const MAX_SECONDS: f64 = 86_400.0;

/// A timeout variable whose value is not a number of seconds dbplan accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{variable}={value:?} is not a number of seconds; set it to a positive number up to 86400 (a day), such as {} (the default), or unset it",
    default.as_secs_f64()
)]
pub struct BadTimeout {
    /// The variable, e.g. `DBPLAN_CONNECT_TIMEOUT`.
    pub variable: String,
    /// Its value, as set.
    pub value: String,
    /// What it stands for when it is not set.
    pub default: Duration,
}

/// The message, for providers that carry their setup errors as text.
impl From<BadTimeout> for String {
    fn from(error: BadTimeout) -> String {
        error.to_string()
    }
}

/// A duration in seconds from `variable` as `lookup` (the environment) finds it, `default`
/// when it is not set.
pub fn seconds(
    lookup: impl FnOnce(&str) -> Option<String>,
    variable: &str,
    default: Duration,
) -> Result<Duration, BadTimeout> {
    let Some(value) = lookup(variable) else {
        return Ok(default);
    };
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0 && *seconds <= MAX_SECONDS)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| BadTimeout {
            variable: variable.to_owned(),
            value,
            default,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(value: &str) -> impl FnOnce(&str) -> Option<String> + '_ {
        move |name| (name == READ_VARIABLE).then(|| value.to_owned())
    }

    #[test]
    fn the_default_applies_when_the_variable_is_not_set() {
        assert_eq!(
            seconds(|_| None, CONNECT_VARIABLE, DEFAULT_CONNECT),
            Ok(Duration::from_secs(10))
        );
        assert_eq!(
            seconds(set("5"), CONNECT_VARIABLE, DEFAULT_CONNECT),
            Ok(DEFAULT_CONNECT)
        );
    }

    #[test]
    fn values_are_seconds_with_decimals_up_to_a_day() {
        for (value, expected) in [
            ("0.25", Duration::from_millis(250)),
            ("0.5", Duration::from_millis(500)),
            (" 2 ", Duration::from_secs(2)),
            ("120", Duration::from_secs(120)),
            ("86400", Duration::from_secs(86_400)),
        ] {
            assert_eq!(
                seconds(set(value), READ_VARIABLE, DEFAULT_READ),
                Ok(expected),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable() {
        for value in [
            "", "ten", "1 minute", "0", "-1", "-3", "NaN", "inf", "86401",
        ] {
            let error = seconds(set(value), READ_VARIABLE, DEFAULT_READ).err();
            assert_eq!(
                error,
                Some(BadTimeout {
                    variable: READ_VARIABLE.to_owned(),
                    value: value.to_owned(),
                    default: DEFAULT_READ,
                }),
                "{value:?}"
            );
            let text = error.map(String::from).unwrap_or_default();
            assert!(
                text.starts_with(&format!("DBPLAN_READ_TIMEOUT={value:?} is not a number")),
                "{value:?}: {text}"
            );
        }
    }

    #[test]
    fn the_message_says_what_to_set_the_variable_to() {
        let error = seconds(|_| Some("-5".to_owned()), CONNECT_VARIABLE, DEFAULT_CONNECT).err();
        assert_eq!(
            error.map(String::from).as_deref(),
            Some(
                "DBPLAN_CONNECT_TIMEOUT=\"-5\" is not a number of seconds; set it to a positive number up to 86400 (a day), such as 10 (the default), or unset it"
            )
        );
        let error = seconds(
            |_| Some("x".to_owned()),
            READ_VARIABLE,
            Duration::from_millis(1500),
        )
        .err();
        assert!(
            error
                .map(String::from)
                .is_some_and(|text| text.contains("such as 1.5 (the default)")),
        );
    }
}
