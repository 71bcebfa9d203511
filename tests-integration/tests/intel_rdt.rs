//! Issue #17: `linux.intelRdt` as runc 1.5 and runtime-spec 1.3 do it.
//!
//! This host has no resctrl (CONFIG_X86_CPU_RESCTRL unset), so the library-level cases point
//! runr at a directory laid out as the kernel's resctrl (`info/L3/cbm_mask`, `info/MB/…`,
//! `info/L3_MON/`, `schemata`, `tasks`, `mon_groups/`) through `ContainerBuilder::resctrl_root`,
//! playing the kernel (files a new group has are made by runr's O_CREAT, which changes nothing
//! on resctrl). Real containers are created; what is asserted is what runr writes into the tree
//! and what delete, `delete --force` and a failed create leave. No runc beside those: runc
//! reads only the host's resctrl. The CLI-level cases run on this host, side by side with runc
//! 1.1.5: both refuse `linux.intelRdt` without resctrl, in the same words, leaving nothing.
//!
//! A custom harness (`harness = false`): creating a container needs a single-threaded caller.

use std::path::{Path, PathBuf};

use runtime_core::oci_spec::runtime::Process;
use runtime_core::{
    ConfigReason, Container, ContainerBuilder, Error, ExecBuilder, ExitStatus, Stdio,
};
use serde_json::json;
use tests_integration::{assert_no_leaks, runtimes, scratch, unique, Bundle, Runtime};

fn main() {
    runtime_core::protect_binary();
    let cases: &[tests_integration::in_process::Case] = &[
        (
            "a_new_group_gets_the_schemata_in_order_the_init_and_a_mon_group_and_goes_on_delete",
            a_new_group_is_made_and_removed,
        ),
        (
            "a_shared_clos_id_is_written_to_and_kept_on_delete",
            a_shared_clos_id_is_kept,
        ),
        (
            "update_of_the_schemas_is_refused_in_runcs_order_and_words",
            update_refusals,
        ),
        (
            "a_group_made_by_someone_else_after_the_plan_is_kept_on_delete",
            a_group_made_meanwhile_is_kept,
        ),
        (
            "clos_id_slash_is_the_root_group_never_removed",
            clos_id_slash_is_the_root,
        ),
        (
            "delete_force_of_a_half_made_container_removes_the_group_by_the_intent_record",
            recovery_removes_the_group,
        ),
        (
            "host_errors_name_the_field_in_runcs_words_and_leave_nothing",
            host_errors_name_the_field,
        ),
        (
            "without_resctrl_intel_rdt_is_refused_as_runc_1_2_plus_does_beside_runc_1_1_5",
            cli_refusal_beside_runc,
        ),
        (
            "features_report_intel_rdt_as_runr_implements_it",
            features_say_what_runr_implements,
        ),
    ];
    tests_integration::in_process::run_cases(cases);
}

/// A directory laid out as the kernel's resctrl, removed on drop.
struct FakeResctrl {
    dir: PathBuf,
}

impl FakeResctrl {
    /// With CAT (`info/L3`), MBA (`info/MB`) and monitoring (`info/L3_MON`) as asked.
    fn new(cat: bool, mba: bool, mon: bool) -> FakeResctrl {
        let dir = scratch().join(unique("resctrl"));
        let put = |rel: &str, text: &str| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        put("info/last_cmd_status", "ok\n");
        if cat {
            put("info/L3/cbm_mask", "7ff\n");
            put("info/L3/min_cbm_bits", "1\n");
            put("info/L3/num_closids", "16\n");
        }
        if mba {
            put("info/MB/bandwidth_gran", "10\n");
            put("info/MB/delay_linear", "1\n");
            put("info/MB/min_bandwidth", "10\n");
            put("info/MB/num_closids", "8\n");
        }
        if mon {
            put(
                "info/L3_MON/mon_features",
                "llc_occupancy\nmbm_total_bytes\n",
            );
            put("info/L3_MON/num_rmids", "224\n");
        }
        put("schemata", "L3:0=7ff;1=7ff\nMB:0=100;1=100\n");
        put("tasks", "");
        std::fs::create_dir_all(dir.join("mon_groups")).unwrap();
        FakeResctrl { dir }
    }

    /// A pre-configured group (what an administrator makes for a closID).
    fn group(&self, name: &str, schemata: &str) -> PathBuf {
        let g = self.dir.join(name);
        std::fs::create_dir_all(g.join("mon_groups")).unwrap();
        std::fs::write(g.join("schemata"), schemata).unwrap();
        std::fs::write(g.join("tasks"), "").unwrap();
        g
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel))
            .unwrap_or_else(|e| panic!("{rel} in the fake resctrl: {e}"))
    }

    /// Every entry of the tree, as relative paths (to compare before and after).
    fn listing(&self) -> Vec<PathBuf> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap().flatten() {
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
                if p.is_dir() {
                    walk(base, &p, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.dir, &self.dir, &mut out);
        out.sort();
        out
    }
}

impl Drop for FakeResctrl {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A container of `bundle` created through the library against `fake`.
fn create(
    rt: &Runtime,
    id: &str,
    bundle: &Bundle,
    fake: &FakeResctrl,
) -> runtime_core::Result<Container> {
    bundle.write();
    ContainerBuilder::new(id, &bundle.dir)
        .root(&rt.root)
        .resctrl_root(&fake.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .create()
}

fn a_new_group_is_made_and_removed() {
    let fake = FakeResctrl::new(true, true, true);
    let mut bundle = Bundle::shell("sleep 600");
    // Every way to give a schema: the spec's order is l3CacheSchema, memBwSchema, schemata.
    bundle.config["linux"]["intelRdt"] = json!({
        "l3CacheSchema": "L3:0=7f0;1=1f",
        "memBwSchema": "MB:0=20;1=70",
        "schemata": ["L2:0=f;1=f", "MB:0=30;1=70"],
        "enableMonitoring": true
    });
    let rt = Runtime::runr();
    let id = unique("rdt-new");
    let c = create(&rt, &id, &bundle, &fake).expect("create");
    let pid = c.pid().to_string();
    // The group is the container id, made; the schemata went in one write, in order.
    assert_eq!(
        fake.read(&format!("{id}/schemata")),
        "L3:0=7f0;1=1f\nMB:0=20;1=70\nL2:0=f;1=f\nMB:0=30;1=70\n"
    );
    assert_eq!(
        fake.read(&format!("{id}/tasks")),
        pid,
        "the init is in the group"
    );
    assert_eq!(
        fake.read(&format!("{id}/mon_groups/{id}/tasks")),
        pid,
        "and in its MON group"
    );
    assert_eq!(fake.read("tasks"), "", "the root group is not written to");
    assert_eq!(fake.read("schemata"), "L3:0=7ff;1=7ff\nMB:0=100;1=100\n");
    // runc's `events --stats` intel_rdt members, from the group and the root; the MON
    // group's counters as the kernel lays them out (mon_data/mon_L3_<domain>/…).
    for (domain, bytes) in [("mon_L3_00", "4096"), ("mon_L3_01", "8192")] {
        let d = fake
            .dir
            .join(&id)
            .join("mon_groups")
            .join(&id)
            .join("mon_data")
            .join(domain);
        std::fs::create_dir_all(&d).unwrap();
        for f in ["mbm_total_bytes", "mbm_local_bytes", "llc_occupancy"] {
            std::fs::write(d.join(f), format!("{bytes}\n")).unwrap();
        }
    }
    let stats = serde_json::to_value(c.stats().expect("stats")).unwrap();
    let rdt = &stats["intel_rdt"];
    assert_eq!(rdt["l3_cache_schema"], "L3:0=7f0;1=1f", "{rdt}");
    assert_eq!(rdt["l3_cache_schema_root"], "L3:0=7ff;1=7ff", "{rdt}");
    assert_eq!(rdt["l3_cache_info"]["cbm_mask"], "7ff", "{rdt}");
    assert_eq!(rdt["mem_bw_info"]["min_bandwidth"], 10, "{rdt}");
    assert_eq!(rdt["schemata"].as_array().map(Vec::len), Some(4), "{rdt}");
    assert_eq!(rdt["mbm_stats"][1]["mbm_total_bytes"], 8192, "{rdt}");
    assert_eq!(rdt["cmt_stats"][0]["llc_occupancy"], 4096, "{rdt}");
    // An exec'd process joins the group (runc: the CTRL_MON group; the MON group is the
    // init's). The fake `tasks` holds the last pid written; the kernel's would list both.
    let mut c = c;
    assert!(c.start().expect("start").is_clean());
    let mut process: Process = c.spec().process().clone().expect("process");
    process.set_args(Some(vec!["true".into()]));
    let p = ExecBuilder::new(&c, process)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("exec");
    let exec_pid = p.pid().to_string();
    assert_eq!(p.wait().expect("wait"), ExitStatus::Exited(0));
    assert_eq!(
        fake.read(&format!("{id}/tasks")),
        exec_pid,
        "exec'd process in the group"
    );
    assert_eq!(
        fake.read(&format!("{id}/mon_groups/{id}/tasks")),
        pid,
        "the MON group is the init's"
    );
    // update --l3-cache-schema: the schema replaced, the schemata written again in full.
    c.update_intel_rdt(Some("L3:0=3;1=3"), None)
        .expect("update");
    assert_eq!(
        fake.read(&format!("{id}/schemata")),
        "L3:0=3;1=3\nMB:0=20;1=70\nL2:0=f;1=f\nMB:0=30;1=70\n"
    );
    // The state records it, so a `runr delete` from another process finds it.
    let loaded = Container::load(&rt.root, &id).expect("load");
    assert!(loaded.delete(true).expect("delete").is_clean());
    assert!(
        !fake.dir.join(&id).exists(),
        "the group runr made is removed"
    );
    assert_no_leaks(&rt, &id, &bundle);
    drop(c);
}

fn a_group_made_meanwhile_is_kept() {
    // config-linux.md: "If ... the runtime has not created the sub-directory, the runtime MUST
    // NOT remove the sub-directory when the container is deleted." A createRuntime hook (run
    // after create looked, before the group is made) makes `<id>` first: runr's mkdir finds it
    // there, so delete leaves it (runc 1.5 decides the same way, by its mkdir's result).
    let fake = FakeResctrl::new(true, true, false);
    let id = unique("rdt-meanwhile");
    let made_by_hook = fake.dir.join(&id);
    let mut bundle = Bundle::shell("sleep 600");
    bundle.config["linux"]["intelRdt"] = json!({"l3CacheSchema": "L3:0=7f0;1=1f"});
    let script = format!("mkdir {}", made_by_hook.display());
    bundle.config["hooks"] = json!({"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", script]}
    ]});
    let rt = Runtime::runr();
    let c = create(&rt, &id, &bundle, &fake).expect("create");
    assert_eq!(fake.read(&format!("{id}/tasks")), c.pid().to_string());
    assert_eq!(fake.read(&format!("{id}/schemata")), "L3:0=7f0;1=1f\n");
    assert!(c.delete(true).expect("delete").is_clean());
    assert!(made_by_hook.is_dir(), "a group runr did not make is kept");
    assert_no_leaks(&rt, &id, &bundle);
}

fn a_shared_clos_id_is_kept() {
    let fake = FakeResctrl::new(true, true, true);
    let group = fake.group("guaranteed_group", "L3:0=7ff;1=7ff\nMB:0=100;1=100\n");
    let before = fake.listing();
    let mut bundle = Bundle::shell("sleep 600");
    bundle.config["linux"]["intelRdt"] = json!({
        "closID": "guaranteed_group",
        "memBwSchema": "MB:0=50;1=50",
        "enableMonitoring": true
    });
    let rt = Runtime::runr();
    let id = unique("rdt-shared");
    let c = create(&rt, &id, &bundle, &fake).expect("create");
    let pid = c.pid().to_string();
    // An existing closID group is written to (runc does not compare, it writes).
    assert_eq!(
        std::fs::read_to_string(group.join("schemata")).unwrap(),
        "MB:0=50;1=50\n"
    );
    assert_eq!(std::fs::read_to_string(group.join("tasks")).unwrap(), pid);
    let mon = group.join("mon_groups").join(&id);
    assert_eq!(std::fs::read_to_string(mon.join("tasks")).unwrap(), pid);
    assert!(
        !fake.dir.join(&id).exists(),
        "no group named after the container"
    );
    // A second container shares the group.
    let id2 = unique("rdt-shared2");
    let mut bundle2 = Bundle::shell("sleep 600");
    bundle2.config["linux"]["intelRdt"] = json!({"closID": "guaranteed_group"});
    let c2 = create(&rt, &id2, &bundle2, &fake).expect("create of the second container");
    assert_eq!(
        std::fs::read_to_string(group.join("tasks")).unwrap(),
        c2.pid().to_string(),
        "the fake file holds the last write; the kernel's lists both"
    );
    assert!(c.delete(true).expect("delete").is_clean());
    assert!(group.is_dir(), "a closID group is never removed");
    assert!(!mon.exists(), "the container's MON group is removed");
    assert!(c2.delete(true).expect("delete").is_clean());
    assert!(group.is_dir(), "a closID group is never removed");
    assert_eq!(fake.listing(), before, "only what runr made went away");
    assert_no_leaks(&rt, &id, &bundle);
    assert_no_leaks(&rt, &id2, &bundle2);
}

/// `update --l3-cache-schema / --mem-bw-schema` refused in runc's order and words: the host's
/// CAT/MBA first, then a container without `linux.intelRdt`; nothing is written.
fn update_refusals() {
    let fake = FakeResctrl::new(true, false, false);
    let rt = Runtime::runr();
    let mut bundle = Bundle::shell("sleep 600");
    bundle.config["linux"]["intelRdt"] = json!({"l3CacheSchema": "L3:0=f"});
    let id = unique("rdt-upd");
    let mut c = create(&rt, &id, &bundle, &fake).expect("create");
    let e = c.update_intel_rdt(None, Some("MB:0=20")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Intel RDT/MBA: memory bandwidth schema is not enabled"
    );
    assert_eq!(
        fake.read(&format!("{id}/schemata")),
        "L3:0=f\n",
        "unchanged"
    );
    assert!(c.delete(true).expect("delete").is_clean());
    assert_no_leaks(&rt, &id, &bundle);
    // A container created without intelRdt (CLI, this host), beside runc 1.1.5: both refuse
    // an L3 schema where the host has no CAT, in the same words.
    for rt in runtimes() {
        let b = Bundle::shell("sleep 600");
        let id = unique("rdt-upd-cli");
        rt.create_ok(&b, &id, &[]);
        let out = rt.exec(&["update", "--l3-cache-schema", "L3:0=f", &id]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}: {err}", rt.name);
        if !host_has_resctrl() {
            assert!(
                err.contains("Intel RDT/CAT: l3 cache schema is not enabled"),
                "{}: {err}",
                rt.name
            );
        }
        tests_integration::delete_no_leaks(&rt, &id, &b);
    }
}

fn clos_id_slash_is_the_root() {
    let fake = FakeResctrl::new(true, false, false);
    let before = fake.listing();
    let mut bundle = Bundle::shell("sleep 600");
    bundle.config["linux"]["intelRdt"] = json!({"closID": "/"});
    let rt = Runtime::runr();
    let id = unique("rdt-root");
    let c = create(&rt, &id, &bundle, &fake).expect("create");
    assert_eq!(
        fake.read("tasks"),
        c.pid().to_string(),
        "the default CLOS: the root"
    );
    assert_eq!(
        fake.read("schemata"),
        "L3:0=7ff;1=7ff\nMB:0=100;1=100\n",
        "no schema, no write"
    );
    assert!(c.delete(true).expect("delete").is_clean());
    assert_eq!(fake.listing(), before);
    assert_no_leaks(&rt, &id, &bundle);
}

fn recovery_removes_the_group() {
    let fake = FakeResctrl::new(true, true, true);
    let mut bundle = Bundle::shell("sleep 600");
    bundle.config["linux"]["intelRdt"] =
        json!({"l3CacheSchema": "L3:0=f;1=f", "enableMonitoring": true});
    let rt = Runtime::runr();
    let id = unique("rdt-crash");
    let c = create(&rt, &id, &bundle, &fake).expect("create");
    assert!(fake.dir.join(&id).join("mon_groups").join(&id).is_dir());
    // What a runtime killed before it saved the state leaves: only the intent record.
    std::fs::remove_file(rt.root.join(&id).join("state.json")).unwrap();
    drop(c);
    let outcome = runtime_core::recovery::delete(&rt.root, &id, true).expect("delete --force");
    assert!(outcome.is_clean(), "{:?}", outcome.warnings);
    assert!(
        !fake.dir.join(&id).exists(),
        "the recorded group is removed"
    );
    assert_no_leaks(&rt, &id, &bundle);
    // The CLI's delete --force does the same.
    let id = unique("rdt-crash-cli");
    let c = create(&rt, &id, &bundle, &fake).expect("create");
    std::fs::remove_file(rt.root.join(&id).join("state.json")).unwrap();
    drop(c);
    rt.ok(&["delete", "--force", &id]);
    assert!(
        !fake.dir.join(&id).exists(),
        "the recorded group is removed"
    );
    assert_no_leaks(&rt, &id, &bundle);
}

/// Creates `rdt` against `fake`, expecting a config error on `field` whose text contains
/// `words`; nothing may be left, in the tree either.
fn refused(fake: &FakeResctrl, rdt: serde_json::Value, field: &str, words: &str) -> ConfigReason {
    let before = fake.listing();
    let mut bundle = Bundle::shell("sleep 600");
    bundle.config["linux"]["intelRdt"] = rdt;
    let rt = Runtime::runr();
    let id = unique("rdt-bad");
    let e = match create(&rt, &id, &bundle, fake) {
        Ok(_) => panic!("create succeeded with {field}"),
        Err(e) => e,
    };
    let text = e.to_string();
    assert!(text.contains(words), "{text}");
    assert_no_leaks(&rt, &id, &bundle);
    assert_eq!(fake.listing(), before, "nothing made in resctrl: {text}");
    match e {
        Error::Config {
            field: f, reason, ..
        } => {
            assert_eq!(f, field, "{text}");
            reason
        }
        other => panic!("not a config error: {other:?}"),
    }
}

fn host_errors_name_the_field() {
    // No CAT / no MBA / no monitoring: runc's validator wording.
    let bare = FakeResctrl::new(false, false, false);
    let r = refused(
        &bare,
        json!({"l3CacheSchema": "L3:0=f"}),
        "linux.intelRdt.l3CacheSchema",
        "intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled",
    );
    assert!(matches!(r, ConfigReason::Unsupported(_)), "{r:?}");
    refused(
        &bare,
        json!({"memBwSchema": "MB:0=20"}),
        "linux.intelRdt.memBwSchema",
        "intelRdt.memBwSchema is specified in config, but Intel RDT/MBA is not enabled",
    );
    refused(
        &bare,
        json!({"enableMonitoring": true}),
        "linux.intelRdt.enableMonitoring",
        "Intel RDT monitoring",
    );
    // A closID without schemas names a group that must exist (runc's Apply check).
    let fake = FakeResctrl::new(true, true, true);
    refused(
        &fake,
        json!({"closID": "nosuch"}),
        "linux.intelRdt.closID",
        "must be pre-created",
    );
    // runc's closID rule, and one line per schema.
    refused(
        &fake,
        json!({"closID": "a/b"}),
        "linux.intelRdt.closID",
        "invalid intelRdt.ClosID",
    );
    refused(
        &fake,
        json!({"closID": ".."}),
        "linux.intelRdt.closID",
        "invalid intelRdt.ClosID",
    );
    refused(
        &fake,
        json!({"schemata": ["L3:0=f", "MB:0=1\nL3:0=1"]}),
        "linux.intelRdt.schemata[1]",
        "newlines",
    );
    // runtime-spec 1.3 replaced enableCMT/enableMBM: refused, not ignored.
    refused(
        &fake,
        json!({"enableCMT": true}),
        "linux.intelRdt.enableCMT",
        "enableMonitoring",
    );
    // A write the kernel refuses (here: schemata is a directory) fails create, with the
    // file and errno, and the group runr made is gone again.
    let mut bundle = Bundle::shell("sleep 600");
    let rt = Runtime::runr();
    let id = unique("rdt-eisdir");
    std::fs::create_dir_all(fake.dir.join(&id).join("schemata")).unwrap();
    bundle.config["linux"]["intelRdt"] = json!({"l3CacheSchema": "L3:0=f"});
    let e = create(&rt, &id, &bundle, &fake)
        .err()
        .expect("a write into a directory fails");
    match &e {
        Error::Config {
            field,
            reason: ConfigReason::Sys { error, .. },
            ..
        } => {
            assert_eq!(field, "linux.intelRdt.schemata", "{e}");
            assert_eq!(error.errno, runtime_core::Errno::EISDIR, "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        fake.dir.join(&id).is_dir(),
        "a group that was there before create is not removed"
    );
    assert_no_leaks(&rt, &id, &bundle);
}

/// The error both runtimes give here, where no resctrl is mounted (runc's validator words).
const NOT_ENABLED: &str = "intelRdt is specified in config, but Intel RDT is not enabled";

/// Whether this host has a resctrl mount (then the CLI cases cannot show the refusal).
fn host_has_resctrl() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split(" - ")
                .nth(1)
                .is_some_and(|r| r.starts_with("resctrl "))
        })
}

/// runr refuses as runc 1.2+ does (its validator checks for resctrl first). runc 1.1.5 had no
/// such check: a closID alone is accepted and ignored there (its manager is nil without
/// resctrl, the container runs outside any group), and a schema fails on the CAT/MBA check.
fn cli_refusal_beside_runc() {
    if host_has_resctrl() {
        test_skip::skip_as(
            "without_resctrl_intel_rdt_is_refused_as_runc_1_2_plus_does_beside_runc_1_1_5",
            "this host has resctrl mounted: the refusal cannot happen",
        );
        return;
    }
    for rt in runtimes() {
        let old_runc = rt.name == "runc" && rt.ok(&["--version"]).contains("version 1.1.");
        let cases = [
            (json!({"closID": "runr-test"}), None),
            (
                json!({"l3CacheSchema": "L3:0=f"}),
                Some("intelRdt.l3CacheSchema is specified in config, but Intel RDT/CAT is not enabled"),
            ),
        ];
        for (rdt, words_115) in cases {
            let mut b = Bundle::shell("true");
            b.config["linux"]["intelRdt"] = rdt.clone();
            let id = unique("rdt-cli");
            let out = rt.create(&b, &id, &[]);
            let err = String::from_utf8_lossy(&out.stderr);
            match (old_runc, words_115) {
                (true, None) => {
                    assert!(out.status.success(), "runc 1.1.5 ignores {rdt}: {err}");
                    eprintln!("runc 1.1.5 accepted and ignored {rdt} (runc 1.2+ refuses it)");
                    tests_integration::delete_no_leaks(&rt, &id, &b);
                    continue;
                }
                (true, Some(words)) => {
                    assert!(!out.status.success(), "runc 1.1.5: {rdt} accepted");
                    assert!(err.contains(words), "runc 1.1.5: {err}");
                }
                (false, _) => {
                    assert!(!out.status.success(), "{}: {rdt} accepted: {err}", rt.name);
                    assert!(err.contains(NOT_ENABLED), "{}: {err}", rt.name);
                }
            }
            if rt.name == "runr" {
                assert!(err.contains("linux.intelRdt:"), "names the field: {err}");
            }
            assert_no_leaks(&rt, &id, &b);
        }
    }
}

fn features_say_what_runr_implements() {
    // features-linux.md: intelRdt is "the runtime's implementation status ... irrelevant to the
    // availability of Intel RDT on the host"; runc 1.5 reports true for all three, as runr.
    let rt = Runtime::runr();
    let f: serde_json::Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
    let rdt = &f["linux"]["intelRdt"];
    for member in ["enabled", "schemata", "monitoring"] {
        assert_eq!(rdt[member], true, "{member}: {rdt}");
    }
    // runc 1.1.5's features has no intelRdt member.
    for rt in runtimes().into_iter().filter(|r| r.name == "runc") {
        let f: serde_json::Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
        let v = rt.ok(&["--version"]);
        if v.contains("version 1.1.") {
            assert!(f["linux"]["intelRdt"].is_null(), "{}", f["linux"]);
        }
    }
}
