//! Files that providers write for applications: connection secrets and CA certificates. They
//! are private to the user running dbplan (mode 0600) and replaced atomically.

use crate::ProviderError;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

fn io_error(
    address: &str,
    file: &str,
    what: &str,
    doing: &str,
    error: &std::io::Error,
) -> ProviderError {
    ProviderError::Conflict {
        address: address.to_owned(),
        message: format!(
            "cannot {doing} the {what} {file}: {error}; check the directory's permissions"
        ),
    }
}

/// Writes `contents` to `file`: a new temporary file (mode 0600, a random name, created
/// exclusively, so no planted file or link is followed) beside the target, synced, renamed over
/// it, and the directory synced; a reader never sees a half-written file nor a moment of wider
/// permissions, and the file survives a power loss once this returns. `what` names the file
/// in errors ("connection secret").
pub fn write_private(
    address: &str,
    what: &str,
    file: &str,
    contents: &[u8],
) -> Result<(), ProviderError> {
    if file.is_empty() {
        return Err(ProviderError::Conflict {
            address: address.to_owned(),
            message: format!("the {what} has no file name; set its `file`"),
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
                .map_err(|error| {
                    io_error(address, what, file, "create the directory of", &error)
                })?;
            parent
        }
        None => Path::new("."),
    };
    let mut temporary = tempfile::Builder::new()
        .prefix(".dbplan-")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(parent)
        .map_err(|error| io_error(address, what, file, "write", &error))?;
    temporary
        .write_all(contents)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(|error| io_error(address, what, file, "write", &error))?;
    temporary
        .persist(path)
        .map_err(|error| io_error(address, what, file, "write", &error.error))?;
    std::fs::File::open(parent)
        .and_then(|directory| directory.sync_all())
        .map_err(|error| io_error(address, what, file, "sync the directory of", &error))
}

/// Removes a file dbplan wrote; a file already gone is not an error.
pub fn remove(address: &str, what: &str, file: &str) -> Result<(), ProviderError> {
    match std::fs::remove_file(file) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(io_error(address, what, file, "remove", &error)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn files_are_private_replaced_and_removed() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("sub/ca.crt");
        let name = file.to_str().unwrap();
        write_private("a", "CA certificate", name, b"one").unwrap();
        write_private("a", "CA certificate", name, b"two").unwrap();
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
        remove("a", "CA certificate", name).unwrap();
        remove("a", "CA certificate", name).unwrap();
        assert!(!file.exists());
        let error = write_private("a", "CA certificate", "", b"x").unwrap_err();
        assert!(error.to_string().contains("has no file name"), "{error}");
    }
}
