//! Files that providers write for applications: connection secrets and CA certificates. They
//! are private to the user running dbplan (mode 0600) and replaced atomically.
//!
//! dbplan owns only what it wrote. [`write_owned`] refuses to replace an existing file unless it
//! is the one dbplan recorded at that path, holds exactly what dbplan is about to write, still
//! matches the fingerprint dbplan recorded, or the manifest adopts it; and it returns that
//! fingerprint (an HMAC-SHA-256 of the contents under a random key of the object's own, both
//! recorded in state, so the state holds no hash of a secret anyone could test guesses
//! against). [`remove_owned`] removes a file only while its contents are still what dbplan
//! wrote; a changed file is left in place and reported.

use crate::{Field, ProviderError};
use dbplan_core::ResourceAddress;
use hmac::{KeyInit, Mac};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

/// The output that records the key of a file's fingerprint (sensitive).
pub const KEY_OUTPUT: &str = "file_key";
/// The output that records the fingerprint of what dbplan wrote.
pub const FINGERPRINT_OUTPUT: &str = "file_fingerprint";
/// The planned attribute that lets dbplan overwrite a file it did not write (set from the
/// declaring resource's `dbplan.io/adopt: "true"`).
pub const ADOPT_ATTRIBUTE: &str = "adopt_existing_file";

const FINGERPRINT_PREFIX: &str = "hmac-sha256:";

/// A new random fingerprint key (32 bytes, hex), as a sensitive output.
pub fn new_key(address: &ResourceAddress) -> Result<Field, ProviderError> {
    new_key_text(address).map(Field::sensitive)
}

/// A new random fingerprint key: 32 bytes, hex.
fn new_key_text(address: &ResourceAddress) -> Result<String, ProviderError> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|error| ProviderError::Unsupported {
        address: address.clone(),
        message: format!("the system's random number generator failed: {error}"),
    })?;
    Ok(hex::encode(key))
}

/// The fingerprint of `contents` under `key`.
#[expect(
    clippy::expect_used,
    reason = "HMAC takes a key of any length, so no key can be refused"
)]
pub fn fingerprint(key: &str, contents: &[u8]) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC-SHA-256 accepts a key of any length");
    mac.update(b"dbplan-file-v1\0");
    mac.update(contents);
    format!(
        "{FINGERPRINT_PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Whether `contents` are what the recorded outputs say dbplan wrote: `None` when no
/// fingerprint is recorded (a file written before dbplan kept them).
pub fn matches_recorded(outputs: &BTreeMap<String, Field>, contents: &[u8]) -> Option<bool> {
    let key = outputs.get(KEY_OUTPUT).and_then(Field::as_str)?;
    let recorded = outputs.get(FINGERPRINT_OUTPUT).and_then(Field::as_str)?;
    Some(fingerprint(key, contents) == recorded)
}

/// `path` with `.` removed and `..` taken back over the component before it (leading `..`
/// of a relative path stay): the lexical form two spellings of one path share.
pub fn normalize(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(normal.components().next_back(), Some(Component::Normal(_))) {
                    normal.pop();
                } else if !normal.has_root() {
                    normal.push("..");
                }
            }
            other => normal.push(other.as_os_str()),
        }
    }
    normal
}

/// Where a file written at `path` really lands: its directory with every symbolic link
/// resolved (as far as the directory exists), then its name. The name itself is not followed:
/// a file is written by renaming over it, which replaces a link rather than writing through it.
pub fn real_path(path: &Path) -> PathBuf {
    let absolute = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|directory| directory.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let normal = normalize(&absolute);
    let (Some(parent), Some(name)) = (normal.parent(), normal.file_name()) else {
        return normal;
    };
    real_directory(parent).join(name)
}

/// A directory with its symbolic links resolved, as far as it exists.
pub fn real_directory(directory: &Path) -> PathBuf {
    let mut existing = directory.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut real = real;
            for name in rest.iter().rev() {
                real.push(name);
            }
            return real;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent.to_path_buf();
            }
            _ => return directory.to_path_buf(),
        }
    }
}

/// Whether two spellings of a file's path name the same place.
pub fn same_place(a: &str, b: &str) -> bool {
    a == b || real_path(Path::new(a)) == real_path(Path::new(b))
}

/// What dbplan knows about the file it is about to write.
#[derive(Clone, Copy, Debug)]
pub struct Ownership<'a> {
    /// The file the object recorded (an update), if any.
    pub recorded_file: Option<&'a str>,
    /// The object's recorded outputs (its fingerprint and key), or what `prepare` generated.
    pub outputs: &'a BTreeMap<String, Field>,
    /// Whether the manifest adopts a file dbplan did not write.
    pub adopt: bool,
}

/// Writes `contents` to `file` (see [`write_private`]) when dbplan may: no file there, or one
/// dbplan owns (see the module). Returns the outputs to record: the fingerprint key and the
/// fingerprint of what was written.
pub fn write_owned(
    address: &ResourceAddress,
    what: &str,
    file: &str,
    contents: &[u8],
    ownership: Ownership<'_>,
) -> Result<BTreeMap<String, Field>, ProviderError> {
    let path = Path::new(file);
    if let Ok(metadata) = std::fs::symlink_metadata(path) {
        let recorded_here = ownership
            .recorded_file
            .is_some_and(|recorded| same_place(recorded, file));
        let existing = metadata
            .file_type()
            .is_file()
            .then(|| std::fs::read(path).ok())
            .flatten();
        let ours = recorded_here
            || ownership.adopt
            || existing.as_deref().is_some_and(|existing| {
                existing == contents || matches_recorded(ownership.outputs, existing) == Some(true)
            });
        if !ours {
            return Err(ProviderError::Conflict {
                address: address.clone(),
                message: format!(
                    "{file} already exists and dbplan did not write it (or it changed since); dbplan does not overwrite it: move it away, choose another `file`, or annotate the resource `dbplan.io/adopt: \"true\"` to let dbplan replace it with the {what}"
                ),
                source: None,
            });
        }
        if !metadata.file_type().is_file() && !metadata.file_type().is_symlink() {
            return Err(ProviderError::Conflict {
                address: address.clone(),
                message: format!(
                    "{file} is not a regular file; dbplan writes the {what} only to a file: choose another `file`"
                ),
                source: None,
            });
        }
    }
    // The recorded key as it was recorded, or a new one.
    let recorded = ownership
        .outputs
        .get(KEY_OUTPUT)
        .and_then(|key| Some((key.clone(), key.as_str()?.to_owned())));
    let (key, key_text) = match recorded {
        Some(recorded) => recorded,
        None => {
            let text = new_key_text(address)?;
            (Field::sensitive(text.as_str()), text)
        }
    };
    write_private(address, what, file, contents)?;
    let mut outputs = BTreeMap::new();
    outputs.insert(
        FINGERPRINT_OUTPUT.to_owned(),
        Field::plain(fingerprint(&key_text, contents)),
    );
    outputs.insert(KEY_OUTPUT.to_owned(), key);
    Ok(outputs)
}

/// What [`remove_owned`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The file was removed.
    Removed,
    /// There was no file.
    Gone,
    /// The file is no longer what dbplan wrote (or is no regular file); it was left in place.
    LeftChanged,
}

/// Removes a file dbplan wrote, only while it still holds what dbplan wrote: the recorded
/// fingerprint decides, or, for a file recorded before fingerprints, `legacy` (what dbplan
/// would have written; `None` when it cannot tell, which leaves the file). A changed file is
/// left in place with a warning naming it.
pub fn remove_owned(
    address: &ResourceAddress,
    what: &str,
    file: &str,
    outputs: &BTreeMap<String, Field>,
    legacy: Option<&[u8]>,
) -> Result<Removal, ProviderError> {
    let path = Path::new(file);
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Removal::Gone),
        Err(error) => return Err(io_error(address, what, file, "inspect", error)),
    };
    let intact = metadata.file_type().is_file()
        && match std::fs::read(path) {
            Ok(contents) => match matches_recorded(outputs, &contents) {
                Some(matches) => matches,
                None => legacy.is_some_and(|legacy| legacy == contents.as_slice()),
            },
            Err(error) => return Err(io_error(address, what, file, "read", error)),
        };
    if !intact {
        tracing::warn!(
            address = %address,
            "the {what} {file} changed since dbplan wrote it; it is left in place"
        );
        return Ok(Removal::LeftChanged);
    }
    remove(address, what, file).map(|()| Removal::Removed)
}

/// Whether the file at `file` is still what dbplan wrote: `None` when there is no file,
/// `Some(true)` when it matches the recorded fingerprint (or none is recorded).
pub fn intact(file: &str, outputs: &BTreeMap<String, Field>) -> Option<bool> {
    let path = Path::new(file);
    let metadata = std::fs::symlink_metadata(path).ok()?;
    if !metadata.file_type().is_file() {
        return Some(false);
    }
    let contents = std::fs::read(path).ok()?;
    Some(matches_recorded(outputs, &contents).unwrap_or(true))
}

fn io_error(
    address: &ResourceAddress,
    what: &str,
    file: &str,
    doing: &str,
    error: std::io::Error,
) -> ProviderError {
    ProviderError::Conflict {
        address: address.clone(),
        message: format!(
            "cannot {doing} the {what} {file}: {error}; check the directory's permissions"
        ),
        source: Some(Box::new(error)),
    }
}

/// Writes `contents` to `file`: a new temporary file (mode 0600, a random name, created
/// exclusively, so no planted file or link is followed) beside the target, synced, renamed over
/// it, and the directory synced; a reader never sees a half-written file nor a moment of wider
/// permissions, and the file survives a power loss once this returns. `what` names the file
/// in errors ("connection secret").
pub fn write_private(
    address: &ResourceAddress,
    what: &str,
    file: &str,
    contents: &[u8],
) -> Result<(), ProviderError> {
    if file.is_empty() {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!("the {what} has no file name; set its `file`"),
            source: None,
        });
    }
    let path = Path::new(file);
    let parent = match path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        Some(parent) => {
            // Directories dbplan creates for its files are private too (existing ones are
            // left as they are: they are the user's).
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)
                .map_err(|error| io_error(address, what, file, "create the directory of", error))?;
            parent
        }
        None => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".dbplan-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(parent)
        .map_err(|error| io_error(address, what, file, "write", error))?;
    temporary
        .write_all(contents)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(|error| io_error(address, what, file, "write", error))?;
    temporary
        .persist(path)
        .map_err(|error| io_error(address, what, file, "write", error.error))?;
    std::fs::File::open(parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| io_error(address, what, file, "sync the directory of", error))
}

/// Removes a file dbplan wrote; a file already gone is not an error.
pub fn remove(address: &ResourceAddress, what: &str, file: &str) -> Result<(), ProviderError> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(address, what, file, "remove", error)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The address the files of these tests belong to.
    fn a() -> ResourceAddress {
        "DigitalOceanDatabaseCaCertificate/a".parse().unwrap()
    }

    #[test]
    fn a_file_that_cannot_be_written_keeps_the_system_error_as_its_cause() {
        let directory = tempfile::tempdir().unwrap();
        let blocker = directory.path().join("blocker");
        std::fs::write(&blocker, b"a file, not a directory").unwrap();
        let file = blocker.join("ca.crt");
        let error =
            write_private(&a(), "CA certificate", file.to_str().unwrap(), b"one").unwrap_err();
        assert!(matches!(error, ProviderError::Conflict { .. }), "{error}");
        let message = error.to_string();
        assert!(
            message.contains(&format!(
                "cannot create the directory of the CA certificate {}",
                file.display()
            )),
            "{message}"
        );
        let cause = std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<std::io::Error>());
        assert!(cause.is_some(), "{error}");
    }

    #[test]
    fn files_are_private_replaced_and_removed() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("sub/ca.crt");
        let name = file.to_str().unwrap();
        write_private(&a(), "CA certificate", name, b"one").unwrap();
        write_private(&a(), "CA certificate", name, b"two").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"two");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let created = std::fs::metadata(file.parent().unwrap()).unwrap();
        assert_eq!(
            created.permissions().mode() & 0o777,
            0o700,
            "a created directory is private"
        );
        let leftovers = std::fs::read_dir(file.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        remove(&a(), "CA certificate", name).unwrap();
        remove(&a(), "CA certificate", name).unwrap();
        assert!(!file.exists());
        let error = write_private(&a(), "CA certificate", "", b"x").unwrap_err();
        assert!(error.to_string().contains("has no file name"), "{error}");
    }

    fn ownership(outputs: &BTreeMap<String, Field>) -> Ownership<'_> {
        Ownership {
            recorded_file: None,
            outputs,
            adopt: false,
        }
    }

    #[test]
    fn a_foreign_file_is_neither_overwritten_nor_removed() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("app.env");
        let name = file.to_str().unwrap();
        std::fs::write(&file, b"someone else's").unwrap();
        let none = BTreeMap::new();
        let error = write_owned(&a(), "connection secret", name, b"ours", ownership(&none))
            .unwrap_err()
            .to_string();
        assert!(error.contains("dbplan did not write it"), "{error}");
        assert!(error.contains("dbplan.io/adopt"), "{error}");
        assert_eq!(std::fs::read(&file).unwrap(), b"someone else's");
        // What dbplan would write anyway (an interrupted earlier write) is no one else's.
        std::fs::write(&file, b"ours").unwrap();
        let outputs =
            write_owned(&a(), "connection secret", name, b"ours", ownership(&none)).unwrap();
        assert_eq!(matches_recorded(&outputs, b"ours"), Some(true));
        assert!(outputs[KEY_OUTPUT].sensitive, "the key is a secret");
        // Adopted: replaced.
        std::fs::write(&file, b"someone else's").unwrap();
        let adopted = Ownership {
            adopt: true,
            ..ownership(&none)
        };
        write_owned(&a(), "connection secret", name, b"ours", adopted).unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"ours");
        // A link planted where the file goes is not written through.
        let target = directory.path().join("target");
        std::fs::write(&target, b"precious").unwrap();
        let link = directory.path().join("link.env");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_owned(
            &a(),
            "connection secret",
            link.to_str().unwrap(),
            b"ours",
            ownership(&none),
        )
        .unwrap_err();
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    }

    #[test]
    fn an_owned_file_is_rewritten_and_removed_only_while_unchanged() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("ca.crt");
        let name = file.to_str().unwrap();
        let none = BTreeMap::new();
        let outputs = write_owned(&a(), "CA certificate", name, b"one", ownership(&none)).unwrap();
        // The recorded fingerprint makes the file dbplan's: a new version replaces it, under
        // the same key.
        let again = write_owned(&a(), "CA certificate", name, b"two", ownership(&outputs)).unwrap();
        assert_eq!(again[KEY_OUTPUT], outputs[KEY_OUTPUT]);
        assert_eq!(intact(name, &again), Some(true));
        // Edited by hand: left in place by destroy.
        std::fs::write(&file, b"edited").unwrap();
        assert_eq!(intact(name, &again), Some(false));
        assert_eq!(
            remove_owned(&a(), "CA certificate", name, &again, None).unwrap(),
            Removal::LeftChanged
        );
        assert!(file.exists());
        // A file recorded before fingerprints: removed when it holds what dbplan would write.
        assert_eq!(
            remove_owned(&a(), "CA certificate", name, &none, Some(b"other")).unwrap(),
            Removal::LeftChanged
        );
        assert_eq!(
            remove_owned(&a(), "CA certificate", name, &none, Some(b"edited")).unwrap(),
            Removal::Removed
        );
        assert_eq!(
            remove_owned(&a(), "CA certificate", name, &none, None).unwrap(),
            Removal::Gone
        );
    }

    #[test]
    fn paths_are_normalised_and_links_in_directories_resolved() {
        assert_eq!(normalize(Path::new("./a/../b/./c")), Path::new("b/c"));
        assert_eq!(normalize(Path::new("../a/..")), Path::new(".."));
        assert_eq!(normalize(Path::new("/a/../../b")), Path::new("/b"));
        let directory = tempfile::tempdir().unwrap();
        let real = directory.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = directory.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let through = real_path(&link.join("new/dir/file"));
        assert_eq!(
            through,
            real.canonicalize().unwrap().join("new/dir/file"),
            "a link in the directories is followed, missing directories kept"
        );
        assert!(same_place(
            link.join("x").to_str().unwrap(),
            real.join("x").to_str().unwrap()
        ));
    }
}
