//! The state directory on disk: where it really is, and private files written atomically.
//!
//! The state holds generated passwords, so everything here is private to the user running
//! dbplan: directories 0700 and files 0600, on the real target when the path is a symlink.

use crate::StateError;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

/// Resolves the state path before anything is created: an existing path (or symlink) to the
/// real directory it names, a missing one to its real parent plus the missing names. A link
/// that leads nowhere, or to something that is not a directory, is refused.
pub fn resolve(path: &Path) -> Result<PathBuf, StateError> {
    let refuse = |why: String| StateError::Location {
        path: path.to_path_buf(),
        why,
    };
    match std::fs::symlink_metadata(path) {
        Ok(_) => {
            let real = std::fs::canonicalize(path).map_err(|error| {
                refuse(format!(
                    "it is a link that cannot be followed ({error}); point it at an existing directory, or remove it"
                ))
            })?;
            if !real.is_dir() {
                return Err(refuse(format!(
                    "{} is not a directory; choose a directory with --state or DBPLAN_STATE",
                    real.display()
                )));
            }
            Ok(real)
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let mut missing = Vec::new();
            let mut ancestor = path;
            loop {
                match std::fs::symlink_metadata(ancestor) {
                    Ok(_) => break,
                    Err(_) => {
                        let Some(name) = ancestor.file_name() else {
                            return Err(refuse("no part of it exists".to_owned()));
                        };
                        missing.push(name.to_owned());
                        ancestor = match ancestor.parent() {
                            Some(parent) if !parent.as_os_str().is_empty() => parent,
                            _ => Path::new("."),
                        };
                    }
                }
            }
            if path
                .components()
                .rev()
                .take(missing.len())
                .any(|component| !matches!(component, Component::Normal(_)))
            {
                return Err(refuse(
                    "its missing part contains `..` or `.`; name the directory directly".to_owned(),
                ));
            }
            let mut real = std::fs::canonicalize(ancestor).map_err(|error| {
                refuse(format!(
                    "{} cannot be resolved ({error}); point --state at an existing directory",
                    ancestor.display()
                ))
            })?;
            for name in missing.iter().rev() {
                real.push(name);
            }
            Ok(real)
        }
        Err(error) => Err(refuse(format!("it cannot be examined ({error})"))),
    }
}

/// Creates a directory and its missing parents with mode 0700, and makes the directory itself
/// 0700 when it already exists. `directory` must be resolved (see [`resolve`]).
pub fn create_private_directory(directory: &Path) -> Result<(), StateError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder
        .create(directory)
        .map_err(|source| StateError::CreateDirectory {
            path: directory.to_path_buf(),
            source,
        })?;
    set_mode(directory, 0o700)
}

/// Sets the mode of one file or directory (never through a link: callers pass resolved paths
/// or entries they found with `symlink_metadata`).
pub fn set_mode(path: &Path, mode: u32) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        let metadata =
            std::fs::symlink_metadata(path).map_err(|source| StateError::Permissions {
                path: path.to_path_buf(),
                source,
            })?;
        if metadata.permissions().mode() & 0o777 != mode {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(
                |source| StateError::Permissions {
                    path: path.to_path_buf(),
                    source,
                },
            )?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Directories 0700 and files 0600, below `directory`: sled creates its files with the process
/// umask. A file sled removes while we walk is skipped; links are left alone (never followed);
/// any other failure is an error, so the state is never left readable without saying so.
pub fn restrict_tree(directory: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        use std::io::ErrorKind;
        fn walk(path: &Path) -> std::io::Result<()> {
            let metadata = match std::fs::symlink_metadata(path) {
                Ok(metadata) => metadata,
                Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(error),
            };
            let wanted = if metadata.is_dir() {
                0o700
            } else if metadata.is_file() {
                0o600
            } else {
                return Ok(());
            };
            if metadata.permissions().mode() & 0o777 != wanted {
                match std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted)) {
                    Err(error) if error.kind() != ErrorKind::NotFound => return Err(error),
                    _ => {}
                }
            }
            if metadata.is_dir() {
                let entries = match std::fs::read_dir(path) {
                    Ok(entries) => entries,
                    Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
                    Err(error) => return Err(error),
                };
                for entry in entries {
                    walk(&entry?.path())?;
                }
            }
            Ok(())
        }
        walk(directory).map_err(|source| StateError::Permissions {
            path: directory.to_path_buf(),
            source,
        })
    }
    #[cfg(not(unix))]
    {
        let _ = directory;
        Ok(())
    }
}

/// Writes `contents` to `directory/name`: a new temporary file (mode 0600, a random name,
/// created exclusively, so no planted file or link is followed) in the same directory, synced,
/// renamed over the target (a link there is replaced, not followed), and the directory synced.
/// A reader never sees a half-written file, and the file survives a power loss once this
/// returns.
pub fn write_private(directory: &Path, name: &str, contents: &[u8]) -> Result<(), StateError> {
    let path = directory.join(name);
    write_private_file(&path, contents).map_err(|source| StateError::Store {
        path: path.clone(),
        message: format!("cannot write it: {source}"),
    })
}

/// `write_private` for any file dbplan writes next to the state (a saved plan, an export):
/// the temporary file goes into the target's own directory, which must exist.
pub fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".dbplan-");
    #[cfg(unix)]
    builder.permissions(std::fs::Permissions::from_mode(0o600));
    let mut temporary = builder.tempfile_in(directory)?;
    temporary.write_all(contents)?;
    temporary.as_file().sync_all()?;
    temporary.persist(path).map_err(|persist| persist.error)?;
    std::fs::File::open(directory).and_then(|handle| handle.sync_all())
}

/// Makes a rename or removal in `directory` durable.
pub fn sync_directory(directory: &Path) -> Result<(), StateError> {
    std::fs::File::open(directory)
        .and_then(|handle| handle.sync_all())
        .map_err(|source| StateError::Store {
            path: directory.to_path_buf(),
            message: format!("cannot sync the directory: {source}"),
        })
}

/// Copies the regular files and directories of `from` into `to` (which exists). Anything else
/// (a link, a device) in a sled directory is damage, and is reported instead of copied.
pub fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            builder.mode(0o700);
            builder.create(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)?;
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not a regular file", entry.path().display()),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_symlinked_state_resolves_to_its_target_and_a_dangling_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real");
        std::fs::create_dir(&target).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(
            resolve(&link).unwrap(),
            std::fs::canonicalize(&target).unwrap()
        );
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let error = resolve(&dangling).unwrap_err().to_string();
        assert!(error.contains("link that cannot be followed"), "{error}");
        let missing = dir.path().join("link/a/b");
        assert_eq!(
            resolve(&missing).unwrap(),
            std::fs::canonicalize(&target).unwrap().join("a/b")
        );
    }

    #[test]
    fn a_private_write_replaces_a_planted_link_instead_of_following_it() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"keep").unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("head.json")).unwrap();
        write_private(dir.path(), "head.json", b"new").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        let written = dir.path().join("head.json");
        assert!(!std::fs::symlink_metadata(&written).unwrap().is_symlink());
        assert_eq!(std::fs::read(&written).unwrap(), b"new");
        let mode = std::fs::metadata(&written).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
