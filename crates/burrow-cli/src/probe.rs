//! `burrow probe`: what this kernel allows.

use anyhow::Result;

use crate::cli::ProbeArgs;

/// Print the probe results as text or JSON.
pub fn main(args: ProbeArgs) -> Result<u8> {
    let p = burrow::probe();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&p)?);
        return Ok(0);
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    println!("user namespaces:              {}", yes(p.user_namespaces));
    println!("unprivileged user namespaces: {}", yes(p.unprivileged_user_namespaces));
    println!("setgroups control:            {}", yes(p.setgroups));
    let names: Vec<&str> = p.namespaces.iter().map(|n| n.name()).collect();
    println!("namespaces:                   {}", names.join(" "));
    println!(
        "cgroups:                      {}",
        serde_json::to_value(p.cgroups)?.as_str().unwrap_or("?")
    );
    println!("newuidmap/newgidmap:          {}", yes(p.newuidmap));
    Ok(0)
}
