//! Shell completions and man pages, generated from the command line's own
//! definition (clap's companions), so they never drift from it.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

/// Print the completion script for `shell` on stdout.
pub fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "burrow", &mut std::io::stdout());
    Ok(0)
}

/// Write `burrow.1` and `burrow-COMMAND.1` for every command into `dir`.
pub fn man_pages(dir: &Path) -> Result<u8> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let command = Cli::command();
    write_page(dir, "burrow", command.clone())?;
    for sub in command.get_subcommands() {
        // clap names are 'static; this one-shot command leaks a few bytes.
        let name: &'static str = Box::leak(format!("burrow-{}", sub.get_name()).into_boxed_str());
        write_page(dir, name, sub.clone().name(name))?;
    }
    Ok(0)
}

fn write_page(dir: &Path, name: &str, command: clap::Command) -> Result<()> {
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .with_context(|| format!("rendering {}", path.display()))?;
    std::fs::write(&path, page).with_context(|| format!("writing {}", path.display()))
}
