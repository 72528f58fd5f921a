//! The connection secret of a tenant database: a file with mode 0600, in `env` format
//! (`KEY=value` lines) or `json`, with the keys applications expect
//! (`DATABASE_URL`, `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER`, `DB_PASSWORD`) and the seed
//! setup's (`username`, `password`, `endpoint`, `port`).

use dbplan_core::ResourceAddress;
use dbplan_core::kinds::tenant_database::ConnectionSecret;
use dbplan_provider::{Field, ProviderError, ReadOutcome, RemoteObject, files};
use std::collections::BTreeMap;

const WHAT: &str = "connection secret";

fn value(outputs: &BTreeMap<String, Field>, name: &str) -> String {
    match outputs.get(name).map(|field| &field.value) {
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The key/value pairs of the secret, from the database's outputs (a Kubernetes Secret takes
/// those of its style).
pub(crate) fn entries(outputs: &BTreeMap<String, Field>) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", value(outputs, "uri")),
        ("DB_HOST", value(outputs, "endpoint")),
        ("DB_PORT", value(outputs, "port")),
        ("DB_NAME", value(outputs, "database")),
        ("DB_USER", value(outputs, "username")),
        ("DB_PASSWORD", value(outputs, "password")),
        ("username", value(outputs, "username")),
        ("password", value(outputs, "password")),
        ("endpoint", value(outputs, "endpoint")),
        ("port", value(outputs, "port")),
    ]
}

/// An env-file value: bare when it is plain, else double-quoted with `\`, `"` and `$`
/// escaped (the convention of dotenv readers and POSIX shells alike).
fn env_value(text: &str) -> String {
    let plain = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.:/@?=%+,".contains(c));
    if plain {
        return text.to_owned();
    }
    let mut quoted = String::from("\"");
    for c in text.chars() {
        if matches!(c, '\\' | '"' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

#[expect(
    clippy::expect_used,
    reason = "the JSON secret is a map of strings to strings, which always serialises"
)]
fn render(format: &str, outputs: &BTreeMap<String, Field>) -> String {
    let entries = entries(outputs);
    if format == "json" {
        let map: serde_json::Map<String, serde_json::Value> = entries
            .into_iter()
            .map(|(key, value)| (key.to_owned(), serde_json::Value::String(value)))
            .collect();
        let mut text =
            serde_json::to_string_pretty(&map).expect("a map of strings serialises to JSON");
        text.push('\n');
        text
    } else {
        entries
            .into_iter()
            .map(|(key, value)| format!("{key}={}\n", env_value(&value)))
            .collect()
    }
}

/// Writes the secret (see [`files::write_owned`]: mode 0600, atomically replaced, never over
/// a file dbplan did not write); the fingerprint outputs to record.
pub(crate) fn write(
    address: &ResourceAddress,
    file: &str,
    format: &str,
    outputs: &BTreeMap<String, Field>,
    ownership: files::Ownership<'_>,
) -> Result<BTreeMap<String, Field>, ProviderError> {
    files::write_owned(
        address,
        WHAT,
        file,
        render(format, outputs).as_bytes(),
        ownership,
    )
}

/// Removes the secret while it is still what dbplan wrote (its recorded fingerprint, or for a
/// secret recorded before fingerprints, the rendering of `database` outputs in `format`); a
/// file already gone is not an error, a changed one is left in place.
pub(crate) fn remove(
    address: &ResourceAddress,
    file: &str,
    recorded_outputs: &BTreeMap<String, Field>,
    legacy: Option<(&str, &BTreeMap<String, Field>)>,
) -> Result<files::Removal, ProviderError> {
    let legacy = legacy.map(|(format, outputs)| render(format, outputs));
    files::remove_owned(
        address,
        WHAT,
        file,
        recorded_outputs,
        legacy.as_deref().map(str::as_bytes),
    )
}

/// Whether the secret file is still there. A file changed since dbplan wrote it is still
/// found: it is not rewritten behind the user's back (dbplan does not overwrite what it did
/// not write), and `destroy` leaves it in place (the plan says so).
pub(crate) fn read(
    address: &ResourceAddress,
    secret: ConnectionSecret,
    recorded: &BTreeMap<String, serde_json::Value>,
) -> ReadOutcome {
    let file = secret
        .connection_secret
        .and_then(|settings| settings.file)
        .unwrap_or_default();
    if std::fs::symlink_metadata(&file).is_ok() {
        // Its outputs are fingerprints of what dbplan wrote, which a read cannot make up.
        ReadOutcome::Found(RemoteObject {
            provider_id: Some(file),
            attributes: recorded.clone(),
            outputs: BTreeMap::new(),
        })
    } else {
        tracing::debug!(address = %address, "connection secret {file} is gone");
        ReadOutcome::Gone
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn a() -> ResourceAddress {
        "TenantDatabase/a/connection-secret".parse().unwrap()
    }

    fn outputs() -> BTreeMap<String, Field> {
        let mut outputs = BTreeMap::new();
        outputs.insert(
            "uri".to_owned(),
            Field::sensitive("postgresql://u:p@h:5/d?sslmode=require"),
        );
        outputs.insert("endpoint".to_owned(), Field::plain("h"));
        outputs.insert("port".to_owned(), Field::plain(5));
        outputs.insert("database".to_owned(), Field::plain("d"));
        outputs.insert("username".to_owned(), Field::plain("u"));
        outputs.insert("password".to_owned(), Field::sensitive("p$x"));
        outputs
    }

    #[test]
    fn env_and_json_files_are_private_and_complete() {
        let directory = tempfile::tempdir().unwrap();
        let env = directory.path().join("sub/a.env");
        let none = BTreeMap::new();
        let fresh = files::Ownership {
            recorded_file: None,
            outputs: &none,
            adopt: false,
        };
        write(&a(), env.to_str().unwrap(), "env", &outputs(), fresh).unwrap();
        let text = std::fs::read_to_string(&env).unwrap();
        assert!(text.contains("DATABASE_URL=postgresql://u:p@h:5/d?sslmode=require\n"));
        assert!(text.contains("DB_PASSWORD=\"p\\$x\"\n"));
        assert!(text.contains("DB_PORT=5\n"));
        assert!(text.contains("endpoint=h\n"));
        let mode = std::fs::metadata(&env).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        let json = directory.path().join("a.json");
        let recorded = write(&a(), json.to_str().unwrap(), "json", &outputs(), fresh).unwrap();
        let parsed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(parsed["DB_USER"], "u");
        assert_eq!(parsed["password"], "p$x");
        assert_eq!(parsed["port"], "5");
        assert_eq!(
            remove(&a(), json.to_str().unwrap(), &recorded, None).unwrap(),
            files::Removal::Removed
        );
        assert_eq!(
            remove(&a(), json.to_str().unwrap(), &recorded, None).unwrap(),
            files::Removal::Gone
        );
        assert!(!json.exists());
        // A secret recorded before fingerprints is removed when it holds what dbplan writes.
        write(&a(), env.to_str().unwrap(), "env", &outputs(), fresh).unwrap();
        assert_eq!(
            remove(
                &a(),
                env.to_str().unwrap(),
                &none,
                Some(("json", &outputs()))
            )
            .unwrap(),
            files::Removal::LeftChanged
        );
        assert_eq!(
            remove(
                &a(),
                env.to_str().unwrap(),
                &none,
                Some(("env", &outputs()))
            )
            .unwrap(),
            files::Removal::Removed
        );
    }
}
