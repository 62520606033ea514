//! Helpers shared by the library's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use burrow::ContainerSpecBuilder;

/// A scratch directory on the host, removed (with its contents) on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new() -> Self {
        let template = std::env::temp_dir().join("burrow-test.XXXXXX");
        let dir = nix::unistd::mkdtemp(&template).expect("mkdtemp");
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.0.join(name)).unwrap_or_else(|e| panic!("reading {name}: {e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The seed's defaults plus the host's /usr (read-only) and the merged-/usr
/// links, so that `sh` runs; `out` is bound read-write at /out.
pub fn sandbox(out: &Scratch) -> ContainerSpecBuilder {
    let mut b = burrow::ContainerSpec::builder().bind_ro("/usr", "/usr");
    for dir in ["/bin", "/sbin", "/lib", "/lib64"] {
        match std::fs::read_link(dir) {
            Ok(target) => b = b.symlink(target, dir),
            Err(_) if Path::new(dir).is_dir() => b = b.bind_ro(dir, dir),
            Err(_) => {}
        }
    }
    b.bind(out.path(), "/out").env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
}

/// Run `script` with `sh -c` in `builder`'s container; return the status.
pub fn sh(builder: ContainerSpecBuilder, script: &str) -> burrow::ExitStatus {
    let spec = builder.command(["sh", "-c", script]).build().expect("valid spec");
    burrow::run(&spec).expect("container runs")
}

/// A container that is killed and reaped when the test ends, also when it
/// fails half-way.
pub struct KillOnDrop(pub burrow::Container);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

/// Put busybox at `dest`: a hard link when possible, since a copy's write fd
/// can be inherited by a container another test thread clones meanwhile, and
/// executing a file open for writing fails with ETXTBSY.
pub fn install_busybox(dest: &Path) {
    if std::fs::hard_link("/bin/busybox", dest).is_err() {
        std::fs::copy("/bin/busybox", dest).expect("busybox-static is installed");
    }
}
