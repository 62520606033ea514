//! OCI hooks: `createRuntime` (and the older `prestart`), `poststart` and
//! `poststop` run here, in the runtime's namespaces; `createContainer` and
//! `startContainer` are handed to the container process, which runs them
//! in its own (see `burrow::HookCommand`). Each hook reads the container's
//! state on its standard input.

use std::time::Duration;

use oci_spec::runtime::{Hook, Spec};

use crate::error::{OciError, Result};

/// The hooks of a config, by stage.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    /// `prestart` then `createRuntime`: runtime namespace, during create.
    pub create_runtime: Vec<Hook>,
    /// `createContainer`: in the container, before `pivot_root`.
    pub create_container: Vec<Hook>,
    /// `startContainer`: in the container, before the process runs.
    pub start_container: Vec<Hook>,
    /// `poststart`: runtime namespace, after start.
    pub poststart: Vec<Hook>,
    /// `poststop`: runtime namespace, after delete.
    pub poststop: Vec<Hook>,
}

impl Hooks {
    /// The hooks `config` names.
    pub fn of(config: &Spec) -> Self {
        let Some(h) = config.hooks() else {
            return Hooks::default();
        };
        #[allow(deprecated)]
        let prestart = h.prestart().clone().unwrap_or_default();
        Hooks {
            create_runtime: prestart
                .into_iter()
                .chain(h.create_runtime().clone().unwrap_or_default())
                .collect(),
            create_container: h.create_container().clone().unwrap_or_default(),
            start_container: h.start_container().clone().unwrap_or_default(),
            poststart: h.poststart().clone().unwrap_or_default(),
            poststop: h.poststop().clone().unwrap_or_default(),
        }
    }

    /// Whether the container must pause before `pivot_root` for them.
    pub fn need_pause(&self) -> bool {
        !(self.create_runtime.is_empty() && self.create_container.is_empty() && self.start_container.is_empty())
    }
}

/// A hook for the container process to run.
pub fn to_core(hook: &Hook) -> burrow::HookCommand {
    burrow::HookCommand {
        path: hook.path().clone(),
        args: hook
            .args()
            .clone()
            .unwrap_or_else(|| vec![hook.path().display().to_string()]),
        env: hook.env().clone().unwrap_or_default(),
        timeout: hook.timeout().filter(|t| *t > 0).map(|t| Duration::from_secs(t as u64)),
        stdin: String::new(),
    }
}

/// Run `hooks` of `stage` here, in order, each with `state` on stdin (by
/// the core's runner: no SIGPIPE, a timeout from the start, no inherited
/// fds). The first failure is returned, naming the hook.
pub fn run(stage: &str, hooks: &[Hook], state: &str) -> Result<()> {
    for (i, hook) in hooks.iter().enumerate() {
        to_core(hook).run(Some(state)).map_err(|report| OciError::Field {
            field: format!("hooks.{stage}[{i}]"),
            reason: report.to_string(),
        })?;
    }
    Ok(())
}

/// Run hooks whose failure the spec says to warn about, not fail on
/// (poststart, poststop): every one of them runs, whatever the others do.
pub fn run_warning(stage: &str, hooks: &[Hook], state: &str) {
    for (i, hook) in hooks.iter().enumerate() {
        if let Err(report) = to_core(hook).run(Some(state)) {
            tracing::warn!("hooks.{stage}[{i}]: {report}");
        }
    }
}
