//! Loading a bundle's `config.json` and checking it before anything is created.
//!
//! Parse errors name the JSON path of the bad field (`json_path.rs`); validation
//! errors name the spec field (`mounts[2].destination`, `linux.namespaces[1].path`, …) and what
//! was expected. Everything that can be checked without creating the container is checked here,
//! so that a bad bundle leaves nothing behind.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use oci_spec::runtime::{LinuxNamespaceType, Spec};

use crate::error::{ConfigReason, Error, Result};

pub use crate::json_path::{parse_json, JsonError};

/// A process JSON (`exec --process FILE`) read as runc reads it: Go's decoder leaves a field
/// that is missing or `null` at its zero value, so `user` defaults to uid 0 / gid 0, `cwd` to
/// "" (which [`crate::ExecBuilder::spawn`] then refuses, naming `process.cwd`, as runc refuses an
/// empty Cwd), and a `null` member anywhere counts as absent.
pub fn parse_process(raw: &[u8]) -> std::result::Result<oci_spec::runtime::Process, JsonError> {
    let mut doc: serde_json::Value = parse_json(raw)?;
    drop_nulls(&mut doc);
    if let serde_json::Value::Object(map) = &mut doc {
        map.entry("user").or_insert_with(|| serde_json::json!({}));
        map.entry("cwd").or_insert_with(|| "".into());
    }
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    parse_json(&bytes)
}

/// Removes every object member whose value is `null`, at any depth.
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, m| !m.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// `update -r`'s document (`LinuxResources` JSON), with runc 1.4's reading of `pids`: a `pids`
/// object without a `limit` leaves the limit alone (oci-spec reads the missing member as 0,
/// which is now a real limit).
pub fn parse_resources(
    raw: &[u8],
) -> std::result::Result<oci_spec::runtime::LinuxResources, JsonError> {
    let mut res: oci_spec::runtime::LinuxResources = match parse_json(raw) {
        // runtime-spec 1.3: `"limit": null` is an unset limit (oci-spec reads an i64).
        Err(e) if e.path() == "pids.limit" => {
            parse_json(&without_null_member(raw, "/pids", "limit").ok_or(e)?)?
        }
        other => other?,
    };
    let probe: Option<PidsProbe> = serde_json::from_slice::<ResourcesProbe>(raw)
        .ok()
        .and_then(|r| r.pids);
    if probe.is_some_and(|p| p.limit.is_none()) {
        res.set_pids(None);
    }
    Ok(res)
}

/// `raw` without the member `key` of the object at `pointer`, when that member is `null`
/// (`None` otherwise: the parse error stands). Only on a parse error's path, so a valid config
/// is parsed once.
fn without_null_member(raw: &[u8], pointer: &str, key: &str) -> Option<Vec<u8>> {
    let mut doc: serde_json::Value = serde_json::from_slice(raw).ok()?;
    let obj = doc.pointer_mut(pointer)?.as_object_mut()?;
    if !obj.get(key)?.is_null() {
        return None;
    }
    obj.remove(key);
    serde_json::to_vec(&doc).ok()
}

/// config.json's bytes as a [`Spec`], or (field, reason) naming where it is malformed.
/// Unknown capability names are warnings (runc drops them) and a null pids limit is unset
/// (runtime-spec 1.3); both re-parse a fixed document only on that path.
fn parse_spec(raw: &[u8], warnings: &mut Vec<String>) -> Check<Spec> {
    let parsed: std::result::Result<Spec, _> = parse_json(raw);
    let parsed = match parsed {
        Err(e) if e.path().to_string().starts_with("process.capabilities") => {
            drop_unknown_capabilities(raw, warnings).ok_or(e)
        }
        // oci-spec reads an i64; the probe after parsing then drops the `pids` object, as for
        // a missing limit.
        Err(e) if e.path() == "linux.resources.pids.limit" => {
            match without_null_member(raw, "/linux/resources/pids", "limit") {
                Some(fixed) => parse_json(&fixed),
                None => Err(e),
            }
        }
        other => other,
    };
    parsed.map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A syntax error has no meaningful field path ("process.?"): say what it is.
        let field = if inner.is_syntax() || inner.is_eof() {
            "invalid JSON".to_string()
        } else if path == "." {
            "(document)".to_string()
        } else {
            path
        };
        let reason = parse_reason(&inner, &field);
        (field, ConfigReason::Malformed(reason))
    })
}

/// `root.path` resolved against the bundle directory; it must exist and be a directory.
fn resolve_rootfs(dir: &Path, spec: &Spec) -> Check<PathBuf> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| ("root".to_string(), ConfigReason::Missing))?;
    let root_path = dir.join(root.path());
    let rootfs = std::fs::canonicalize(&root_path).map_err(|e| {
        let reason = ConfigReason::Unreadable {
            path: Some(root_path.clone()),
            source: e,
        };
        ("root.path".to_string(), reason)
    })?;
    if !rootfs.is_dir() {
        let why = format!("{} is not a directory", rootfs.display());
        return Err(("root.path".to_string(), why.into()));
    }
    Ok(rootfs)
}

/// A relative destination is taken from the container's `/` (runtime-spec 1.2; runc 1.2+
/// warns that it is deprecated and does the same).
fn relative_destination_warnings(spec: &Spec) -> Vec<String> {
    let mounts = spec.mounts().as_deref().unwrap_or_default();
    let relative = mounts.iter().enumerate();
    relative
        .filter(|(_, m)| m.destination().is_relative())
        .map(|(i, m)| {
            format!(
                "mounts[{i}].destination: relative path {:?} is deprecated, using it as \
                 relative to /",
                m.destination()
            )
        })
        .collect()
}

/// runtime-spec 1.3 made `pids.limit` optional and 0 a real limit (runc 1.4: pids.max 1, as
/// systemd's TasksMax cannot be 0); oci-spec still reads a missing limit as 0. A `pids` object
/// without a `limit` is therefore dropped here, so that a `pids` left in the parsed spec always
/// carries a limit the config gave.
fn drop_pids_without_limit(spec: &mut Spec, raw: &[u8]) {
    let probe = serde_json::from_slice::<SpecProbe>(raw)
        .ok()
        .and_then(|s| s.linux)
        .and_then(|l| l.resources)
        .and_then(|r| r.pids);
    if probe.is_none_or(|p| p.limit.is_some()) {
        return;
    }
    if let Some(res) = spec
        .linux_mut()
        .as_mut()
        .and_then(|l| l.resources_mut().as_mut())
    {
        res.set_pids(None);
    }
}

/// Just enough of config.json to see whether `linux.resources.pids.limit` is there.
#[derive(serde::Deserialize)]
struct SpecProbe {
    linux: Option<LinuxProbe>,
}
#[derive(serde::Deserialize)]
struct LinuxProbe {
    resources: Option<ResourcesProbe>,
}
#[derive(serde::Deserialize)]
struct ResourcesProbe {
    pids: Option<PidsProbe>,
}
#[derive(serde::Deserialize)]
struct PidsProbe {
    limit: Option<serde::de::IgnoredAny>,
}

/// A loaded, validated bundle.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Bundle {
    /// Absolute path of the bundle directory.
    pub dir: PathBuf,
    /// Absolute, symlink-free path of the root filesystem.
    pub rootfs: PathBuf,
    /// The parsed and validated config.json.
    pub spec: Spec,
    /// What was accepted but not used (capability names nobody knows: runc warns and goes on).
    pub warnings: Vec<String>,
}

impl Bundle {
    /// Reads `<dir>/config.json` and validates it.
    pub fn load(dir: &Path) -> Result<Bundle> {
        let dir = absolute(dir);
        let config = dir.join("config.json");
        let raw = std::fs::read(&config).map_err(|e| {
            let reason = ConfigReason::Unreadable {
                path: None,
                source: e,
            };
            Error::config(&config, "cannot read", reason)
        })?;
        Bundle::from_config(&dir, &raw)
    }

    /// Parses and validates the bytes of a config.json as if they were `<dir>/config.json`
    /// (`root.path` is resolved against `dir`). Nothing is written; this is what `load` does
    /// after reading the file, and what the fuzz target (fuzz/) exercises.
    pub fn from_config(dir: &Path, raw: &[u8]) -> Result<Bundle> {
        let dir = absolute(dir);
        let config = dir.join("config.json");
        let bad = |field: &str, reason: ConfigReason| Error::config(&config, field, reason);
        let mut warnings = Vec::new();
        // The document, typed, with runtime-spec 1.3's optional pids limit made plain.
        let mut spec = parse_spec(raw, &mut warnings).map_err(|(f, r)| bad(&f, r))?;
        drop_pids_without_limit(&mut spec, raw);
        // The rootfs, resolved against the bundle, must be a directory.
        let rootfs = resolve_rootfs(&dir, &spec).map_err(|(f, r)| bad(&f, r))?;
        // Warnings runc prints and goes on: an SELinux mount label, relative destinations.
        warnings.extend(crate::lsm::mount_label_warning(&spec));
        warnings.extend(relative_destination_warnings(&spec));
        let bundle = Bundle {
            dir,
            rootfs,
            spec,
            warnings,
        };
        // Every rule of the spec and of runc on the fields oci-spec read.
        bundle
            .validate()
            .map_err(|(field, reason)| bad(&field, reason))?;
        // Fields oci-spec does not read (their runtime-spec spelling): refused, not ignored.
        if bundle
            .spec
            .linux()
            .as_ref()
            .is_some_and(|l| l.intel_rdt().is_some())
        {
            crate::intel_rdt::check_replaced_flags(raw)
                .map_err(|(field, why)| bad(&field, ConfigReason::Unsupported(why)))?;
        }
        Ok(bundle)
    }

    /// The container's checks, one step per part of the config; returns (field, reason) for
    /// the first problem found.
    fn validate(&self) -> Check {
        let spec = &self.spec;
        // Something to run, from an absolute cwd, with an env and rlimits execve can pass on.
        let process = spec
            .process()
            .as_ref()
            .ok_or(("process".into(), ConfigReason::Missing))?;
        check_process(process)?;
        let linux = spec
            .linux()
            .as_ref()
            .ok_or(("linux".into(), "is required on Linux".into()))?;
        // Each namespace listed once; a namespace to join must exist.
        check_namespaces(linux)?;
        // Without a mount namespace of its own nothing may be mounted (it would land on the host).
        if !has_ns(linux, LinuxNamespaceType::Mount) {
            check_without_mount_namespace(spec)?;
        }
        // A propagation mode the kernel knows for the rootfs.
        check_rootfs_propagation(linux)?;
        // A hostname or domainname needs a UTS namespace of the container's own.
        check_uts_names(spec, linux)?;
        // A new user namespace needs mappings; mappings need a user namespace.
        check_user_mappings(linux)?;
        // Time offsets need a new time namespace.
        check_time_offsets(linux)?;
        // A sysctl is only set where the container has the namespace it belongs to.
        check_sysctls(linux)?;
        // Mount destinations inside the rootfs, options the runtime knows.
        check_mounts(spec, linux)?;
        // A memory policy the kernel accepts.
        if let Some(p) = linux.memory_policy() {
            crate::mempolicy::check(p).map_err(invalid)?;
        }
        // Network devices to move in exist, and the container has a network namespace of its own.
        crate::netdev::check(linux).map_err(invalid)?;
        // Intel RDT: runc's closID rule, one line per schema (the host is checked at create).
        if let Some(rdt) = linux.intel_rdt() {
            crate::intel_rdt::check_config(rdt).map_err(invalid)?;
        }
        // Labels the kernel cannot apply are refused before anything is created.
        crate::lsm::check(spec).map_err(invalid)?;
        // Hooks with absolute paths and positive timeouts.
        check_hooks(spec)?;
        Ok(())
    }
}

/// A validation step's result: the field (a JSON path) and the reason of the first problem.
type Check<T = ()> = std::result::Result<T, (String, ConfigReason)>;

/// A helper's (field, reason) as a validation failure: the value is invalid.
fn invalid((field, reason): (String, String)) -> (String, ConfigReason) {
    (field, ConfigReason::Invalid(reason))
}

/// Whether `linux.namespaces` lists `t` (new or joined).
fn has_ns(linux: &oci_spec::runtime::Linux, t: LinuxNamespaceType) -> bool {
    namespaces_of(linux).iter().any(|n| n.typ() == t)
}

/// Whether `linux.namespaces` asks for a new namespace of type `t` (not a joined one).
fn new_ns(linux: &oci_spec::runtime::Linux, t: LinuxNamespaceType) -> bool {
    namespaces_of(linux)
        .iter()
        .any(|n| n.typ() == t && n.path().is_none())
}

fn namespaces_of(linux: &oci_spec::runtime::Linux) -> &[oci_spec::runtime::LinuxNamespace] {
    linux.namespaces().as_deref().unwrap_or_default()
}

/// `process`: args, cwd, env and rlimits.
fn check_process(process: &oci_spec::runtime::Process) -> Check {
    let args = process.args().as_deref().unwrap_or_default();
    if args.is_empty() || args[0].is_empty() {
        return Err(("process.args".into(), "must name a program to run".into()));
    }
    if !process.cwd().is_absolute() {
        return Err((
            "process.cwd".into(),
            format!("{:?} must be an absolute path", process.cwd()).into(),
        ));
    }
    check_env(process.env().as_deref().unwrap_or_default())?;
    check_rlimits(process)
}

/// `process.env`: runc refuses what execve would pass on but no program could read back.
fn check_env(env: &[String]) -> Check {
    for (i, kv) in env.iter().enumerate() {
        match kv.split_once('=') {
            None => {
                return Err((
                    format!("process.env[{i}]"),
                    format!("{kv:?} is not NAME=VALUE").into(),
                ))
            }
            Some(("", _)) => {
                return Err((
                    format!("process.env[{i}]"),
                    "the variable name is empty".into(),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// `process.rlimits`: each type once, soft not above hard.
fn check_rlimits(process: &oci_spec::runtime::Process) -> Check {
    let Some(rlimits) = process.rlimits() else {
        return Ok(());
    };
    let mut seen = HashSet::new();
    for (i, r) in rlimits.iter().enumerate() {
        if !seen.insert(format!("{:?}", r.typ())) {
            return Err((
                format!("process.rlimits[{i}]"),
                format!("{:?} is set twice", r.typ()).into(),
            ));
        }
        if r.soft() > r.hard() {
            return Err((
                format!("process.rlimits[{i}]"),
                "soft limit is above the hard limit".into(),
            ));
        }
    }
    Ok(())
}

/// `linux.namespaces`: each type once; a path must name an existing namespace file.
fn check_namespaces(linux: &oci_spec::runtime::Linux) -> Check {
    let mut types = HashSet::new();
    for (i, ns) in namespaces_of(linux).iter().enumerate() {
        if !types.insert(ns.typ()) {
            return Err((
                format!("linux.namespaces[{i}]"),
                format!("{} namespace listed twice", ns.typ()).into(),
            ));
        }
        if let Some(p) = ns.path() {
            if !p.is_absolute() || !p.exists() {
                return Err((
                    format!("linux.namespaces[{i}].path"),
                    format!("{}: no such namespace file", p.display()).into(),
                ));
            }
        }
    }
    Ok(())
}

/// `linux.rootfsPropagation`: one of the mount propagation modes.
fn check_rootfs_propagation(linux: &oci_spec::runtime::Linux) -> Check {
    if let Some(p) = linux
        .rootfs_propagation()
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        if crate::mounts::propagation_flag(p).is_none() {
            return Err((
                "linux.rootfsPropagation".into(),
                format!("{p:?} is not one of private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable").into(),
            ));
        }
    }
    Ok(())
}

/// `hostname`, `domainname`: only with a UTS namespace of the container's own.
fn check_uts_names(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Check {
    for (field, name) in [
        ("hostname", spec.hostname()),
        ("domainname", spec.domainname()),
    ] {
        if name.as_deref().is_some_and(|n| !n.is_empty()) && !has_ns(linux, LinuxNamespaceType::Uts)
        {
            return Err((
                field.into(),
                format!("cannot set a {field} without a private UTS namespace").into(),
            ));
        }
    }
    Ok(())
}

/// `linux.uidMappings`/`gidMappings`: required by a new user namespace, refused without one.
fn check_user_mappings(linux: &oci_spec::runtime::Linux) -> Check {
    let has_maps = linux.uid_mappings().as_ref().is_some_and(|m| !m.is_empty())
        || linux.gid_mappings().as_ref().is_some_and(|m| !m.is_empty());
    if new_ns(linux, LinuxNamespaceType::User) {
        if !has_maps {
            return Err((
                "linux.uidMappings".into(),
                "a new user namespace needs uid and gid mappings".into(),
            ));
        }
    } else if has_maps && !has_ns(linux, LinuxNamespaceType::User) {
        return Err((
            "linux.uidMappings".into(),
            "mappings given but no user namespace is configured".into(),
        ));
    }
    Ok(())
}

/// `linux.timeOffsets`: only for a new time namespace.
fn check_time_offsets(linux: &oci_spec::runtime::Linux) -> Check {
    if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
        && !new_ns(linux, LinuxNamespaceType::Time)
    {
        return Err((
            "linux.timeOffsets".into(),
            "time offsets need a new time namespace".into(),
        ));
    }
    Ok(())
}

/// `linux.sysctl`: each key namespaced by a namespace the container has.
fn check_sysctls(linux: &oci_spec::runtime::Linux) -> Check {
    let own_ns = |t: LinuxNamespaceType| has_ns(linux, t);
    for key in linux.sysctl().iter().flat_map(|s| s.keys()) {
        check_sysctl(key, &own_ns).map_err(|r| (format!("linux.sysctl.{key}"), r.into()))?;
    }
    Ok(())
}

/// `mounts`: a destination inside the rootfs, options the runtime knows, idmaps it can apply.
fn check_mounts(spec: &Spec, linux: &oci_spec::runtime::Linux) -> Check {
    for (i, m) in spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let dest = m.destination();
        if dest.as_os_str().is_empty() {
            return Err((format!("mounts[{i}].destination"), "is empty".into()));
        }
        if escapes_root(dest) {
            return Err((
                format!("mounts[{i}].destination"),
                format!("{} escapes the container's root filesystem", dest.display()).into(),
            ));
        }
        let opts = crate::mounts::MountOptions::parse(m.options().as_deref().unwrap_or_default())
            .map_err(|r| (format!("mounts[{i}].options"), r.into()))?;
        if opts.tmpcopyup && m.typ().as_deref() != Some("tmpfs") {
            return Err((
                format!("mounts[{i}].options"),
                "tmpcopyup is only supported for tmpfs mounts".into(),
            ));
        }
        crate::idmap::requested(m, linux)
            .map_err(|(field, r)| (format!("mounts[{i}].{field}"), r.into()))?;
    }
    Ok(())
}

/// `hooks`: every hook's path absolute, its timeout positive.
fn check_hooks(spec: &Spec) -> Check {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    let lists = [
        ("prestart", hooks.prestart()),
        ("createRuntime", hooks.create_runtime()),
        ("createContainer", hooks.create_container()),
        ("startContainer", hooks.start_container()),
        ("poststart", hooks.poststart()),
        ("poststop", hooks.poststop()),
    ];
    for (kind, list) in lists {
        for (i, h) in list.as_deref().unwrap_or_default().iter().enumerate() {
            if !h.path().is_absolute() {
                return Err((
                    format!("hooks.{kind}[{i}].path"),
                    "must be an absolute path".into(),
                ));
            }
            if h.timeout().is_some_and(|t| t <= 0) {
                return Err((
                    format!("hooks.{kind}[{i}].timeout"),
                    "must be greater than zero".into(),
                ));
            }
        }
    }
    Ok(())
}

/// A container with no `mount` namespace entry shares the runtime's mount namespace (the spec:
/// a type not listed is inherited): whatever it mounted would be mounted on the host and stay
/// there after the container is gone (runc mounts it all, makes the host's `/` rslave and leaves
/// every mount behind, and makes the device nodes in the image's own /dev). So runr only chroots
/// into the rootfs and refuses every field that needs a mount or a device node; runc refuses
/// masked and read-only paths there too.
fn check_without_mount_namespace(spec: &Spec) -> Check {
    let why = "needs a mount namespace: without a linux.namespaces entry of type mount the \
               container shares the runtime's, and this would change the host's mount table";
    let linux = spec.linux().as_ref();
    let fields = [
        (
            "mounts",
            spec.mounts().as_ref().is_some_and(|m| !m.is_empty()),
        ),
        (
            "linux.maskedPaths",
            linux.is_some_and(|l| l.masked_paths().as_ref().is_some_and(|p| !p.is_empty())),
        ),
        (
            "linux.readonlyPaths",
            linux.is_some_and(|l| l.readonly_paths().as_ref().is_some_and(|p| !p.is_empty())),
        ),
        (
            "linux.rootfsPropagation",
            linux.is_some_and(|l| {
                l.rootfs_propagation()
                    .as_ref()
                    .is_some_and(|p| !p.is_empty())
            }),
        ),
        (
            "linux.devices",
            linux.is_some_and(|l| l.devices().as_ref().is_some_and(|d| !d.is_empty())),
        ),
        (
            "root.readonly",
            spec.root()
                .as_ref()
                .and_then(|r| r.readonly())
                .unwrap_or(false),
        ),
    ];
    match fields.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err((field.to_string(), why.into())),
        None => Ok(()),
    }
}

/// runc's rule: a sysctl may only be set when the namespace it belongs to is the container's own.
fn check_sysctl(
    key: &str,
    own_ns: &dyn Fn(LinuxNamespaceType) -> bool,
) -> std::result::Result<(), String> {
    const IPC: [&str; 6] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
    ];
    if key.contains("..") || key.contains('/') && key.contains('.') {
        return Err("is not a valid sysctl name".into());
    }
    if IPC.contains(&key)
        || key == "kernel.shmmni"
        || key == "kernel.shm_rmid_forced"
        || key.starts_with("fs.mqueue.")
    {
        return own_ns(LinuxNamespaceType::Ipc)
            .then_some(())
            .ok_or_else(|| "needs a private IPC namespace".into());
    }
    if key.starts_with("net.") {
        return own_ns(LinuxNamespaceType::Network)
            .then_some(())
            .ok_or_else(|| "needs a private network namespace".into());
    }
    if key == "kernel.hostname" {
        return Err("conflicts with the hostname field: set that instead".into());
    }
    if key == "kernel.domainname" {
        return own_ns(LinuxNamespaceType::Uts)
            .then_some(())
            .ok_or_else(|| "needs a private UTS namespace".into());
    }
    if key.starts_with("user.") {
        // The ucounts limits (user.max_user_namespaces, …) are per user namespace: in the
        // container's own they limit only it; without one they would change the host's (runc
        // 1.2+ allows them only with a user namespace).
        return own_ns(LinuxNamespaceType::User)
            .then_some(())
            .ok_or_else(|| "needs a user namespace (it would change the host's limit)".into());
    }
    if key.starts_with("kernel.") || key.starts_with("vm.") || key.starts_with("fs.") {
        return Err("is not namespaced: setting it would change the host".into());
    }
    Ok(())
}

/// The spec with capability names oci-spec does not know removed from every set, each removal
/// noted in `warnings`; `None` when it still does not parse.
fn drop_unknown_capabilities(raw: &[u8], warnings: &mut Vec<String>) -> Option<Spec> {
    let mut value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    let sets = value
        .pointer_mut("/process/capabilities")?
        .as_object_mut()?;
    for (set, names) in sets.iter_mut() {
        let Some(list) = names.as_array_mut() else {
            continue;
        };
        list.retain(|name| {
            let known =
                serde_json::from_value::<oci_spec::runtime::Capability>(name.clone()).is_ok();
            if !known {
                warnings.push(format!(
                    "process.capabilities.{set}: unknown capability {name} ignored"
                ));
            }
            known
        });
    }
    parse_json(&serde_json::to_vec(&value).ok()?).ok()
}

/// True when `dest`, taken lexically from the container's `/`, climbs above it with `..`.
pub(crate) fn escapes_root(dest: &Path) -> bool {
    let mut depth: i32 = 0;
    for c in dest.components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}

/// serde's message for a config field, reworded where oci-spec's is obscure: an unknown
/// capability reads `no variant for CAP_X (converted to X)`.
fn parse_reason(e: &serde_json::Error, field: &str) -> String {
    let text = e.to_string();
    if let (true, Some(rest)) = (
        field.contains("capabilities"),
        text.strip_prefix("no variant for "),
    ) {
        let name = rest.split_whitespace().next().unwrap_or(rest);
        let at = rest.find(" at line ").map(|i| &rest[i..]).unwrap_or("");
        return format!("unknown capability {name:?}{at}");
    }
    text
}

/// `path` made absolute against the current directory and cleaned lexically, like Go's
/// `filepath.Abs` (`.` and `..` resolved by name, no symlink resolution), so the bundle and
/// root paths that state and engines see are the same whichever way they were spelled.
pub fn absolute(path: &Path) -> PathBuf {
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::env::current_dir() {
            Ok(d) => d.join(path),
            Err(_) => return path.to_path_buf(),
        }
    };
    let mut out = PathBuf::from("/");
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::io_reason;

    #[test]
    fn a_process_json_takes_gos_zero_values() {
        let p = parse_process(br#"{"args": ["sh"], "cwd": "/"}"#).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (0, 0));
        let p = parse_process(br#"{"args": ["sh"], "user": {"uid": 7, "gid": null}}"#).unwrap();
        assert_eq!((p.user().uid(), p.user().gid()), (7, 0));
        assert_eq!(p.cwd(), Path::new(""), "no cwd: empty, refused by exec");
        let p = parse_process(br#"{"args": ["sh"], "cwd": "/", "user": null, "env": null}"#);
        assert!(p.unwrap().env().is_none());
        let e = parse_process(br#"{"args": "sh", "cwd": "/"}"#).unwrap_err();
        assert_eq!(e.path().to_string(), "args");
    }

    #[test]
    fn a_pids_object_without_a_limit_is_an_unset_limit_and_zero_is_a_limit() {
        // runtime-spec 1.3 / runc 1.4: only a given limit is applied, 0 included.
        let r = parse_resources(br#"{"pids": {}}"#).unwrap();
        assert!(r.pids().is_none());
        let r = parse_resources(br#"{"pids": {"limit": 0}}"#).unwrap();
        assert_eq!(r.pids().unwrap().limit(), 0);
        let mut spec: Spec =
            parse_json(br#"{"ociVersion": "1.3.0", "linux": {"resources": {"pids": {}}}}"#)
                .unwrap();
        drop_pids_without_limit(
            &mut spec,
            br#"{"ociVersion": "1.3.0", "linux": {"resources": {"pids": {}}}}"#,
        );
        let res = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert!(res.pids().is_none());
        let raw = br#"{"ociVersion": "1.3.0", "linux": {"resources": {"pids": {"limit": 0}}}}"#;
        let mut spec: Spec = parse_json(raw).unwrap();
        drop_pids_without_limit(&mut spec, raw);
        let res = spec.linux().as_ref().unwrap().resources().as_ref().unwrap();
        assert_eq!(res.pids().unwrap().limit(), 0);
    }

    #[test]
    fn a_null_pids_limit_is_an_unset_limit() {
        // runtime-spec 1.3: `limit` is a *int64; null reads as unset, in both documents.
        let r = parse_resources(br#"{"pids": {"limit": null}, "cpu": {"shares": 2}}"#).unwrap();
        assert!(r.pids().is_none());
        assert_eq!(r.cpu().as_ref().unwrap().shares(), Some(2));
        let e = parse_resources(br#"{"pids": {"limit": "x"}}"#).unwrap_err();
        assert_eq!(e.path().to_string(), "pids.limit");
        let dir = std::env::temp_dir();
        let raw = br#"{"ociVersion": "1.3.0", "root": {"path": "."},
            "linux": {"resources": {"pids": {"limit": null}}}}"#;
        let err = Bundle::from_config(&dir, raw).err().map(|e| e.to_string());
        assert!(
            !err.as_deref().unwrap_or("").contains("pids"),
            "a null limit is no error: {err:?}"
        );
    }

    #[test]
    fn parse_json_names_the_field_and_reads_the_first_document_like_runc() {
        let e =
            parse_json::<Spec>(br#"{"ociVersion": "1.0.2", "process": {"cwd": 7}}"#).unwrap_err();
        assert_eq!(e.path().to_string(), "process.cwd");
        let s: Spec = parse_json(br#"{"ociVersion": "1.0.9"} trailing"#).unwrap();
        assert_eq!(s.version(), "1.0.9");
        let r: oci_spec::runtime::LinuxResources =
            parse_json(br#"{"pids": {"limit": 3}}"#).unwrap();
        assert_eq!(r.pids().as_ref().map(|p| p.limit()), Some(3));
    }

    #[test]
    fn escapes_are_detected_lexically() {
        assert!(escapes_root(Path::new("/../etc")));
        assert!(escapes_root(Path::new("a/../../b")));
        assert!(!escapes_root(Path::new("/a/../b")));
        assert!(!escapes_root(Path::new("/proc")));
    }

    #[test]
    fn absolute_paths_are_cleaned() {
        assert_eq!(absolute(Path::new("/a/./b/../c/")), PathBuf::from("/a/c"));
        assert_eq!(absolute(Path::new("/..")), PathBuf::from("/"));
    }

    #[test]
    fn reasons_read_well() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_reason(&e), "no such file or directory");
    }

    #[test]
    fn sysctls_follow_namespaces() {
        let only_net = |t: LinuxNamespaceType| t == LinuxNamespaceType::Network;
        assert!(check_sysctl("net.ipv4.ip_forward", &only_net).is_ok());
        assert!(check_sysctl("kernel.shmmax", &only_net).is_err());
        assert!(check_sysctl("vm.swappiness", &only_net).is_err());
        assert!(check_sysctl("user.max_user_namespaces", &only_net).is_err());
        let user = |t: LinuxNamespaceType| t == LinuxNamespaceType::User;
        assert!(check_sysctl("user.max_user_namespaces", &user).is_ok());
    }
}
