//! Errors of the OCI front: each names the field, id or path at fault.

/// Everything that can go wrong in an OCI operation.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The bundle's `config.json` is missing or malformed.
    #[error("bundle: {0}")]
    Bundle(String),
    /// A field of `config.json` is invalid.
    #[error("config.json: {field}: {reason}")]
    Field {
        /// The field, as `process.args`.
        field: String,
        /// Why.
        reason: String,
    },
    /// A field of `config.json` that this build cannot honour.
    #[error("config.json: {field}: {reason}")]
    Unsupported {
        /// The field, as `linux.seccomp`.
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
    /// An I/O failure with what was being done.
    pub fn io(what: impl Into<String>, error: std::io::Error) -> Self {
        OciError::Io {
            what: what.into(),
            error,
        }
    }
}

/// Result of OCI operations.
pub type Result<T, E = OciError> = std::result::Result<T, E>;
