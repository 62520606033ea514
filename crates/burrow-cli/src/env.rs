//! The payload's environment: purified, then a few defaults, the host
//! variables the user preserves, and the user's own.

use anyhow::{bail, Result};
use regex::Regex;

/// Variables every payload gets unless the user overrides them.
pub fn defaults() -> Vec<(String, String)> {
    let mut env = vec![
        ("PATH".to_string(), burrow::DEFAULT_PATH.to_string()),
        ("HOME".to_string(), "/".to_string()),
    ];
    if let Ok(term) = std::env::var("TERM") {
        env.push(("TERM".into(), term));
    }
    env
}

/// Parse `KEY=VALUE`.
pub fn parse_assignment(s: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => bail!("--setenv {s:?}: expected KEY=VALUE"),
    }
}

/// Build the environment: defaults, then preserved host variables, then
/// `--setenv` ones; later entries replace earlier ones with the same name.
pub fn build(preserve: &[String], setenv: &[String]) -> Result<Vec<(String, String)>> {
    let patterns = preserve
        .iter()
        .map(|p| {
            Regex::new(p).map_err(|e| {
                // regex's messages draw a caret under the pattern; keep the last line.
                let why = e.to_string();
                let why = why
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_owned();
                anyhow::anyhow!("--preserve {p:?}: not a valid regular expression ({why})")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut env = defaults();
    let mut set = |k: String, v: String| {
        env.retain(|(key, _)| *key != k);
        env.push((k, v));
    };
    for (k, v) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))) {
        if patterns.iter().any(|p| p.is_match(&k)) {
            set(k, v);
        }
    }
    for s in setenv {
        let (k, v) = parse_assignment(s)?;
        set(k, v);
    }
    Ok(env)
}
