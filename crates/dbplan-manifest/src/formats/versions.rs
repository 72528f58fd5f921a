//! Engine versions, as RDS and DigitalOcean name them.

use super::{FormatError, digits, error};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aurora_engine_versions() {
        for version in ["16.4", "14", "8.0.mysql_aurora.3.05.2", "16.4-limitless"] {
            assert!(check_aurora_engine_version(version).is_ok(), "{version}");
        }
        for version in ["sixteen", "16.", "8.0.mysql_aurora.", ""] {
            assert!(check_aurora_engine_version(version).is_err(), "{version}");
        }
    }

    #[test]
    fn digitalocean_engine_versions() {
        assert!(check_do_engine_version("16").is_ok());
        assert!(check_do_engine_version("8.0").is_ok());
        assert!(check_do_engine_version("16.1.2").is_err());
        assert!(check_do_engine_version("latest").is_err());
    }
}
