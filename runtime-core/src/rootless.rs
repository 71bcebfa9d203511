//! Unprivileged ("rootless") mode, detected as runc detects it.
//!
//! runr is unprivileged when it runs as a non-root euid (rootless *euid*: mknod, host-wide id
//! mappings and additional groups are impossible), or as root inside a user namespace it did not
//! create (rootless podman runs the runtime as root of the namespace it made: the host's cgroupfs
//! and device numbers still belong to the real root). Either way the default state root is
//! `$XDG_RUNTIME_DIR/runr` and a cgroup that cannot be created is skipped when no limit needs it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The full identity map: the initial user namespace, where ids mean what they say.
const INITIAL_UID_MAP: [u64; 3] = [0, 0, 4_294_967_295];

/// Whether this process is in a user namespace other than the initial one (runc's
/// `userns.RunningInUserNS`): its uid_map is anything but the full identity map.
pub fn running_in_user_ns() -> bool {
    match std::fs::read_to_string("/proc/self/uid_map") {
        Ok(map) => !is_initial_map(&map),
        // No /proc/self/uid_map: a kernel without user namespaces, so the initial one.
        Err(_) => false,
    }
}

fn is_initial_map(map: &str) -> bool {
    let fields: Vec<u64> = map
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    fields == INITIAL_UID_MAP
}

/// A non-root effective uid: runc's `RootlessEUID`.
pub fn rootless_euid() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// runc's automatic choice of the rootless cgroup rule (cgroupfs): a non-root euid, or root in
/// a user namespace (where the cgroup path cannot tell whether we own it).
pub fn detect() -> bool {
    rootless_euid() || running_in_user_ns()
}

/// Whether `--systemd-cgroup` goes to the user's own systemd over its session bus (runc's
/// rootless systemd driver) rather than the system's: the rootless rule is on and the euid is
/// not root, or it is root in a user namespace and a session bus is found (rootless podman
/// runs the runtime so; runc asks that bus for its owner's uid, which is never root there).
pub fn systemd_user(rootless: bool) -> bool {
    rootless && (rootless_euid() || cgroups::Manager::session_bus_found())
}

/// runc's `shouldHonorXDGRuntimeDir`: `XDG_RUNTIME_DIR` is set and we are not the host's root
/// (root in a user namespace honours it unless `USER=root` says it is a root login's).
fn honours_xdg_runtime_dir(xdg: Option<&str>, user: Option<&str>) -> bool {
    if xdg.is_none_or(str::is_empty) {
        return false;
    }
    if rootless_euid() {
        return true;
    }
    running_in_user_ns() && user != Some("root")
}

/// The default `--root`: `$XDG_RUNTIME_DIR/runr` when unprivileged (created mode 0700 with the
/// sticky bit, which tells session managers not to prune it, as runc does), else `/run/runr`.
/// An unprivileged euid without `XDG_RUNTIME_DIR` gets an error saying what to set.
pub fn default_root() -> Result<PathBuf> {
    let xdg = std::env::var("XDG_RUNTIME_DIR").ok();
    let user = std::env::var("USER").ok();
    if !honours_xdg_runtime_dir(xdg.as_deref(), user.as_deref()) {
        if rootless_euid() {
            return Err(Error::state(
                "$XDG_RUNTIME_DIR/runr",
                std::io::Error::other(format!(
                    "runr runs unprivileged (euid {}) and XDG_RUNTIME_DIR is not set: set it \
                     (e.g. /run/user/{0}) or pass --root",
                    crate::sys::euid()
                )),
            ));
        }
        return Ok(PathBuf::from("/run/runr"));
    }
    let root = Path::new(xdg.as_deref().unwrap_or_default()).join("runr");
    make_private_root(&root)?;
    Ok(root)
}

fn make_private_root(root: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let hint = |e: std::io::Error| {
        Error::state(
            root,
            std::io::Error::new(
                e.kind(),
                format!("{e}: the directory in XDG_RUNTIME_DIR must be writable by the user"),
            ),
        )
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(root)
        .map_err(hint)?;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o1700)).map_err(hint)
}

/// runc's rootless-euid checks of the config, at create: the container needs a user namespace
/// (nothing else can make the runtime's uid its root), with mappings unless it joins one, and
/// no additional groups (an unprivileged user may not give itself groups; runc refuses them too).
pub(crate) fn check_config(
    linux: &oci_spec::runtime::Linux,
    process: &oci_spec::runtime::Process,
    config: &Path,
) -> Result<()> {
    use oci_spec::runtime::LinuxNamespaceType;
    let euid = nix::unistd::geteuid();
    let userns = linux
        .namespaces()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::User);
    let Some(userns) = userns else {
        return Err(Error::config(
            config,
            "linux.namespaces",
            format!("rootless container requires a user namespace (runr runs as euid {euid})"),
        ));
    };
    if userns.path().is_none() {
        for (field, maps) in [
            ("linux.uidMappings", linux.uid_mappings()),
            ("linux.gidMappings", linux.gid_mappings()),
        ] {
            if maps.as_deref().unwrap_or_default().is_empty() {
                return Err(Error::config(
                    config,
                    field,
                    format!("rootless container requires at least one mapping (runr runs as euid {euid})"),
                ));
            }
        }
    }
    if !process
        .user()
        .additional_gids()
        .as_deref()
        .unwrap_or_default()
        .is_empty()
    {
        return Err(Error::config(
            config,
            "process.user.additionalGids",
            format!("cannot set any additional groups in a rootless container (runr runs as euid {euid}: an unprivileged user may not give itself groups)"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_initial_map;

    #[test]
    fn only_the_full_identity_map_is_the_initial_namespace() {
        assert!(is_initial_map("         0          0 4294967295\n"));
        assert!(!is_initial_map("         0       1001          1\n"));
        assert!(!is_initial_map("0 1001 1\n1 100000 65536\n"));
        assert!(!is_initial_map(""));
    }
}
