//! # burrow-oci: the OCI runtime front of burrow
//!
//! Turns an OCI bundle (`config.json` plus a root file system) into a
//! [`burrow::ContainerSpec`], refusing by name every field it cannot
//! honour, and keeps the runtime state that lets separate `create`,
//! `start`, `state`, `kill` and `delete` commands work on one container,
//! as runc does. The `burrow` binary's OCI commands are thin calls into
//! [`lifecycle`].

#![warn(missing_docs)]

pub mod cgroups;
pub mod control;
pub mod convert;
pub mod default_spec;
pub mod device_filter;
pub mod error;
pub mod features;
pub mod hooks;
pub mod lifecycle;
pub mod limits;
pub mod resources;
pub mod seccomp;
pub mod state;
pub mod stats;

pub use error::{OciError, Result};
pub use state::Store;
