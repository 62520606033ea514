//! Errors of the OCI front: each names the field, id or path at fault.

/// Everything that can go wrong in an OCI operation.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The bundle's `config.json` is missing or cannot be read.
    #[error("bundle: {}", OneLine(.0))]
    Bundle(String),
    /// A JSON input (`config.json`, a `--process` file, ...) does not
    /// decode into what it should hold.
    #[error("{}: {}{}", OneLine(.file), Located(.path), OneLine(.reason))]
    Json {
        /// The input, as `config.json` or the file's path.
        file: String,
        /// The JSON path of the value at fault, as `mounts[2].destination`
        /// (empty when the fault is not inside any field, as a syntax
        /// error at the top level).
        path: String,
        /// Why, as the JSON decoder says it (with line and column).
        reason: String,
    },
    /// A field of `config.json` is invalid.
    #[error("config.json: {}: {}", OneLine(.field), OneLine(.reason))]
    Field {
        /// The field, as `process.args`.
        field: String,
        /// Why.
        reason: String,
    },
    /// A field of `config.json` that this build cannot honour.
    #[error("config.json: {}: {}", OneLine(.field), OneLine(.reason))]
    Unsupported {
        /// The field, as `linux.seccomp`.
        field: String,
        /// Why.
        reason: String,
    },
    /// A cgroup setting asked for by a command (`update`'s flags or its
    /// `--resources` file, `pause`), not by `config.json`, that cannot be
    /// applied.
    #[error("{}: {}", OneLine(.field), OneLine(.reason))]
    Setting {
        /// The setting, as `linux.resources.memory.limit` or `freezer`.
        field: String,
        /// Why.
        reason: String,
    },
    /// The container id is not acceptable.
    #[error(
        "container id {0:?}: must be 1 to 1024 characters of letters, digits, '_', '-', '.', not starting with '.'"
    )]
    BadId(String),
    /// No container has this id.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// A container with this id exists already.
    #[error("container {0:?} already exists")]
    Exists(String),
    /// The operation does not fit the container's state.
    #[error("container {id:?} is {status}: {what}")]
    WrongState {
        /// The container.
        id: String,
        /// Its status.
        status: String,
        /// What cannot be done.
        what: String,
    },
    /// A signal name or number that is not a signal.
    #[error("{0:?} is not a signal name or number")]
    BadSignal(String),
    /// State files could not be read or written.
    #[error("{what}: {error}")]
    Io {
        /// What and where.
        what: String,
        /// Why.
        error: std::io::Error,
    },
    /// The core refused the spec or failed to start the container.
    #[error(transparent)]
    Core(#[from] burrow::Error),
}

impl OciError {
    /// The error of a setting that a command gave, not `config.json`:
    /// a field error (which names `config.json`) as a [`OciError::Setting`];
    /// any other error as it is.
    pub fn not_from_config(self) -> Self {
        match self {
            OciError::Field { field, reason } | OciError::Unsupported { field, reason } => {
                OciError::Setting { field, reason }
            }
            other => other,
        }
    }

    /// An I/O failure with what was being done.
    pub fn io(what: impl Into<String>, error: std::io::Error) -> Self {
        OciError::Io {
            what: what.into(),
            error,
        }
    }
}

/// Text shown on one line: control characters (a newline in a path or a
/// value the input gave) are escaped, so every rejection stays one line.
struct OneLine<'a>(&'a str);

impl std::fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// A JSON path followed by `: `, or nothing for the top level.
struct Located<'a>(&'a str);

impl std::fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, "{}: ", OneLine(self.0))
        }
    }
}

/// Decode the JSON `text` of `file` (named in the error) as a `T`. A
/// rejection names the JSON path of the value at fault, as
/// `process.user.uid: invalid type: string "x", expected u32 at line 3
/// column 20`.
pub fn decode<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T> {
    // The plain decoder first: tracking the path costs on every value, and
    // only a rejection needs it, so a failed input is decoded again.
    serde_json::from_str(text).map_err(|plain| locate::<T>(file, text, plain))
}

/// The error of decoding `text` as a `T` again, with the path tracked.
fn locate<T: serde::de::DeserializeOwned>(file: &str, text: &str, plain: serde_json::Error) -> OciError {
    let mut de = serde_json::Deserializer::from_str(text);
    let (path, reason) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) if e.path().iter().next().is_some() => (e.path().to_string(), e.into_inner().to_string()),
        Err(e) => (String::new(), e.into_inner().to_string()),
        // Only what follows the value was wrong (trailing characters).
        Ok(_) => (String::new(), plain.to_string()),
    };
    OciError::Json {
        file: file.into(),
        path,
        reason,
    }
}

/// Result of OCI operations.
pub type Result<T, E = OciError> = std::result::Result<T, E>;
