//! Kubernetes names and quantities.

use super::names::suggest_kubernetes_name;
use super::{FormatError, digits, error};

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

/// A Kubernetes object name that is a DNS-1123 subdomain (a Secret's): 1–253 lowercase letters,
/// digits, `-` and `.`, each dot-separated label starting and ending with a letter or digit.
pub fn check_kubernetes_subdomain(text: &str, what: &str) -> Result<(), FormatError> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            label.starts_with(alphanumeric)
                && label.ends_with(alphanumeric)
                && label.chars().all(|c| alphanumeric(c) || c == '-')
        });
    if valid {
        Ok(())
    } else {
        Err(error(
            format!(
                "{text:?} is not a valid {what}: it must be 1 to 253 lowercase letters, digits, `-` or `.`, starting and ending with a letter or digit"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_and_quantities() {
        assert!(check_kubernetes_name("home-pg").is_ok());
        assert!(check_kubernetes_name("Home_PG").is_err());
        assert!(check_kubernetes_quantity("10Gi").is_ok());
        assert!(check_kubernetes_quantity("1.5Gi").is_ok());
        assert!(check_kubernetes_quantity("1e9").is_ok());
        let error = check_kubernetes_quantity("20GB").err();
        assert!(error.is_some_and(|e| e.help.contains("`20Gi`")));
    }
}
