//! Reading input files without trusting them: manifests, policy packs and plan files.
//!
//! Every file dbplan reads on a user's behalf goes through [`read_bounded`] (or
//! [`read_bounded_text`]): it refuses anything that is not a regular file before reading a byte
//! (a FIFO would block forever, `/dev/zero` would never end, a socket or a terminal is nobody's
//! manifest), and refuses a file over the size cap ([`max_input_bytes`], 64 MiB unless
//! `DBPLAN_MAX_INPUT_BYTES` says otherwise) both from its metadata and while reading, so a file
//! that grows after it was checked still cannot exhaust memory.
//!
//! [`Roots`] is the other half: the paths named on the command line. Symbolic links found while
//! walking a directory are followed only while their target stays inside one of them, so a
//! manifest directory holding a link to `/proc/self/environ` or `/etc/passwd` cannot make dbplan
//! read, and then quote in a diagnostic, a file the user never named.

use crate::codes;
use dbplan_diagnostics::{Code, Diagnostic};
use std::fs::{File, Metadata};
use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable that raises (or lowers) the size cap of input files.
pub const MAX_INPUT_BYTES_VARIABLE: &str = "DBPLAN_MAX_INPUT_BYTES";

/// The default size cap of one input file: 64 MiB, far above any real manifest set (the
/// benchmark's 50 MB file of ordinary manifests fits) and small enough to be held in memory.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 64 * 1024 * 1024;

/// The largest cap that can be configured: spans are 32-bit byte offsets, so a larger file could
/// not be pointed into.
pub const LARGEST_MAX_INPUT_BYTES: u64 = u32::MAX as u64;

/// Why an input file was not read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The operating system refused (missing file, permissions, ...).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A FIFO, socket, device or directory where a file was expected.
    #[error("{path} is {kind}, not a regular file")]
    NotRegularFile { path: String, kind: &'static str },
    /// Larger than the cap. `size` is known when the metadata said so, unknown when the file
    /// grew (or never ends, like `/dev/zero` behind a swapped path) while it was read.
    #[error("{path} is {}, over the limit of {} ({cap} bytes)", describe_size(*.size, *.cap), human(*.cap))]
    TooLarge {
        path: String,
        size: Option<u64>,
        cap: u64,
    },
    /// Read, but not UTF-8 text.
    #[error("{path} is not UTF-8 text (invalid byte at offset {offset})")]
    NotUtf8 { path: String, offset: usize },
    /// A symbolic link whose target is outside every root (never read).
    #[error("{path} is a symbolic link to {target}, outside the paths given on the command line")]
    OutsideRoots { path: String, target: String },
    /// `DBPLAN_MAX_INPUT_BYTES` is not a size.
    #[error("{variable}={value:?} is not a size in bytes")]
    InvalidLimit {
        variable: &'static str,
        value: String,
    },
}

fn describe_size(size: Option<u64>, cap: u64) -> String {
    match size {
        Some(size) => format!("{} ({size} bytes)", human(size)),
        None => format!("larger than {cap} bytes (it grew while it was read)"),
    }
}

/// A byte count for people: `64 MiB`, `1.5 GiB`, `312 bytes`.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
    for (unit, size) in UNITS {
        if bytes >= size {
            let whole = bytes / size;
            let tenths = (bytes % size) * 10 / size;
            return if tenths == 0 {
                format!("{whole} {unit}")
            } else {
                format!("{whole}.{tenths} {unit}")
            };
        }
    }
    format!("{bytes} bytes")
}

impl InputError {
    /// The stable code and fixed summary of this refusal.
    pub fn code(&self) -> Code {
        match self {
            InputError::Io { .. } | InputError::NotUtf8 { .. } => codes::READ_ERROR,
            InputError::NotRegularFile { .. } => codes::NOT_A_REGULAR_FILE,
            InputError::TooLarge { .. } => codes::INPUT_TOO_LARGE,
            InputError::OutsideRoots { .. } => codes::OUTSIDE_ROOTS,
            InputError::InvalidLimit { .. } => codes::INVALID_INPUT_LIMIT,
        }
    }

    /// What to do about it, in one sentence.
    pub fn help(&self) -> String {
        match self {
            InputError::Io { .. } => "check that the path exists and is readable".to_owned(),
            InputError::NotUtf8 { .. } => "save the file as UTF-8".to_owned(),
            InputError::NotRegularFile { .. } => {
                "pass regular files or directories of them; to read the output of a command or \
                 a pipe, write it to a file first"
                    .to_owned()
            }
            InputError::TooLarge { .. } => format!(
                "split the file into smaller ones, or raise the limit for this run, e.g. \
                 {MAX_INPUT_BYTES_VARIABLE}=256MiB (default {})",
                human(DEFAULT_MAX_INPUT_BYTES)
            ),
            InputError::OutsideRoots { .. } => {
                "the link was not followed and its target not read; to read the target, name it \
                 (or a directory holding it) on the command line, or replace the link with a copy"
                    .to_owned()
            }
            InputError::InvalidLimit { .. } => format!(
                "set {MAX_INPUT_BYTES_VARIABLE} to a number of bytes, optionally with a KiB, MiB \
                 or GiB suffix (e.g. 256MiB), at most 4 GiB; the default {} is used meanwhile",
                human(DEFAULT_MAX_INPUT_BYTES)
            ),
        }
    }

    /// The refusal as a diagnostic (no span: nothing of the file was read).
    pub fn to_diagnostic(&self) -> Diagnostic {
        Diagnostic::error(self.code())
            .with_message(self.to_string())
            .with_help(self.help())
    }
}

/// The size cap of input files: `DBPLAN_MAX_INPUT_BYTES` when set, else
/// [`DEFAULT_MAX_INPUT_BYTES`]. An unreadable value is an error (the caller reports it and goes
/// on with the default), never silently ignored.
pub fn max_input_bytes() -> Result<u64, InputError> {
    match std::env::var(MAX_INPUT_BYTES_VARIABLE) {
        Ok(value) => parse_size(&value).ok_or(InputError::InvalidLimit {
            variable: MAX_INPUT_BYTES_VARIABLE,
            value,
        }),
        Err(std::env::VarError::NotPresent) => Ok(DEFAULT_MAX_INPUT_BYTES),
        Err(std::env::VarError::NotUnicode(value)) => Err(InputError::InvalidLimit {
            variable: MAX_INPUT_BYTES_VARIABLE,
            value: value.to_string_lossy().into_owned(),
        }),
    }
}

/// Parses `1048576`, `512KiB`, `64MiB`, `2GiB` (also `K`, `M`, `G`, `KB`, `MB`, `GB`, all
/// binary). Zero and sizes above [`LARGEST_MAX_INPUT_BYTES`] are refused.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: u64 = digits.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return None,
    };
    let bytes = number.checked_mul(multiplier)?;
    (bytes > 0 && bytes <= LARGEST_MAX_INPUT_BYTES).then_some(bytes)
}

/// What a non-regular file is, for messages; `None` for a regular file.
fn special_kind(metadata: &Metadata) -> Option<&'static str> {
    let file_type = metadata.file_type();
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a FIFO (named pipe)");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
        if file_type.is_char_device() {
            return Some("a character device");
        }
        if file_type.is_block_device() {
            return Some("a block device");
        }
    }
    Some("not a regular file")
}

/// Refuses `metadata` unless it describes a regular file no larger than `cap`.
fn check(path: &Path, metadata: &Metadata, cap: u64) -> Result<(), InputError> {
    if let Some(kind) = special_kind(metadata) {
        return Err(InputError::NotRegularFile {
            path: path.display().to_string(),
            kind,
        });
    }
    if metadata.len() > cap {
        return Err(InputError::TooLarge {
            path: path.display().to_string(),
            size: Some(metadata.len()),
            cap,
        });
    }
    Ok(())
}

/// Opens for reading without blocking: opening a FIFO for reading waits for a writer unless
/// `O_NONBLOCK` is set, so a path swapped for a FIFO between the check and the open would hang
/// the run. `O_NOCTTY` keeps a swapped-in terminal from becoming the controlling terminal.
/// Neither flag changes how a regular file is read.
fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options.open(path)
}

/// Reads a whole regular file of at most `cap` bytes.
///
/// The file's metadata is checked before it is opened (a FIFO, socket, device or directory is
/// refused without being opened; so is a file over the cap), the opened handle is checked again
/// (the path may have been swapped in between), and the bytes are read through
/// `Read::take(cap + 1)`, so a file that grows while it is read is refused after `cap + 1`
/// bytes instead of filling memory.
pub fn read_bounded(path: &Path, cap: u64) -> Result<Vec<u8>, InputError> {
    let io = |source| InputError::Io {
        path: path.display().to_string(),
        source,
    };
    check(path, &std::fs::metadata(path).map_err(io)?, cap)?;
    let file = open_nonblocking(path).map_err(io)?;
    let metadata = file.metadata().map_err(io)?;
    check(path, &metadata, cap)?;
    // The metadata's size is a hint only (the file may change); never reserve beyond the cap.
    let hint = usize::try_from(metadata.len().min(cap)).unwrap_or(0);
    let mut bytes = Vec::with_capacity(hint.saturating_add(1));
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > cap {
        return Err(InputError::TooLarge {
            path: path.display().to_string(),
            size: None,
            cap,
        });
    }
    Ok(bytes)
}

/// [`read_bounded`], then UTF-8: the text of a manifest, policy pack or plan file.
pub fn read_bounded_text(path: &Path, cap: u64) -> Result<String, InputError> {
    let bytes = read_bounded(path, cap)?;
    String::from_utf8(bytes).map_err(|error| InputError::NotUtf8 {
        path: path.display().to_string(),
        offset: error.utf8_error().valid_up_to(),
    })
}

/// The paths named on the command line, resolved. A root that is itself a symbolic link is
/// resolved once and its target is the root: the user named it.
#[derive(Clone, Debug, Default)]
pub struct Roots {
    canonical: Vec<PathBuf>,
}

impl Roots {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a root. A path that does not resolve (it does not exist) adds nothing; reading it
    /// reports why.
    pub fn add(&mut self, path: &Path) {
        if let Ok(canonical) = std::fs::canonicalize(path)
            && !self.canonical.contains(&canonical)
        {
            self.canonical.push(canonical);
        }
    }

    /// Whether a resolved path lies inside a root (component by component, so `/data/a2` is not
    /// inside `/data/a`).
    pub fn contains(&self, canonical: &Path) -> bool {
        self.canonical
            .iter()
            .any(|root| canonical.starts_with(root))
    }

    /// Resolves a symbolic link (every link on the way) and refuses it unless its target lies
    /// inside a root. Nothing is opened. A link that does not resolve (dangling, or a loop) is
    /// an I/O error.
    pub fn check_link(&self, path: &Path) -> Result<PathBuf, InputError> {
        let target = std::fs::canonicalize(path).map_err(|source| InputError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if self.contains(&target) {
            Ok(target)
        } else {
            Err(InputError::OutsideRoots {
                path: path.display().to_string(),
                target: target.display().to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("1048576"), Some(1 << 20));
        assert_eq!(parse_size("64MiB"), Some(64 << 20));
        assert_eq!(parse_size(" 2 GiB "), Some(2 << 30));
        assert_eq!(parse_size("512k"), Some(512 << 10));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("5GiB"), None);
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("99999999999999999999999"), None);
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(64 << 20), "64 MiB");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(12), "12 bytes");
    }
}
