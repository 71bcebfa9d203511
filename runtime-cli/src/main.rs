//! `runr`: a runc-compatible command line over `runtime-core`.
//!
//! Parses runc's global flags and subcommands, runs one command, logs its error once in runc's
//! format (`log.rs`) and maps it to runc's exit codes: 1 for errors and usage mistakes, 3 for an
//! unknown subcommand, the container's status for `run`.

#![deny(unsafe_code)]
// The C `main` below replaces the one std generates (not for the test harness, which has its own).
#![cfg_attr(not(test), no_main)]
// Without that `main`, the unit tests reach only part of the code; the binary's build checks all.
#![cfg_attr(test, allow(dead_code))]

mod cli;
mod commands;
mod log;
mod signals;
mod timings;
#[cfg(panic = "abort")]
mod unwind;

use cli::{flag, switch, Flag};

/// Global flags, which come before the subcommand.
pub const GLOBAL_FLAGS: &[Flag] = &[
    switch(&["debug"], "log what runr does, step by step (level=debug)"),
    flag(
        &["log"],
        "write the log to this file (default: the standard error)",
    ),
    flag(&["log-format"], "the log's format, text or json").with_default("\"text\""),
    flag(
        &["root"],
        "the directory holding the containers' state (best on a tmpfs)",
    )
    .with_default("\"/run/runr\""),
    flag(
        &["criu"],
        "path of the criu binary (checkpoint/restore is not supported)",
    )
    .with_default("\"criu\""),
    switch(
        &["systemd-cgroup"],
        "use the systemd cgroup driver: cgroupsPath is \"slice:prefix:name\"",
    ),
    flag(
        &["rootless"],
        "ignore cgroup permission errors: true, false or auto",
    )
    .with_default("\"auto\""),
    switch(&["help", "h"], "show the help"),
    switch(&["version", "v"], "print the version"),
];

/// What every command gets from the global flags.
pub struct Global {
    /// When the command started (first image), when it traces its phases.
    pub started: Option<u64>,
    pub root: std::path::PathBuf,
    pub systemd_cgroup: bool,
    /// runc's `--rootless true|false|auto`: the rootless cgroup rule (auto: detected).
    pub rootless: bool,
    pub log: log::Logger,
}

/// The program's entry, called by the C runtime in place of the `main` std would generate.
///
/// Why: std's `main` spends ~0.1 ms of this VM's time before any of runr's code (it reads
/// `/proc/self/maps` for the main thread's stack bounds and maps an alternate signal stack, both
/// for its stack-overflow message), and a re-executed `create`, `run` or `exec` pays it twice (the re-exec of
/// `protect_binary`). What runr needs of it is done here: the standard fds exist and SIGPIPE is
/// ignored (`entry_setup`), and stdout is flushed at the end, as std's `main` did on return. The
/// arguments come from `std::env::args`, which glibc fills in before `main`. A stack overflow now
/// ends in a plain SIGSEGV, without std's one-line message.
#[cfg(not(test))]
#[allow(unsafe_code)] // `no_mangle` only names the symbol the C runtime calls; nothing unsafe runs.
#[no_mangle]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    runtime_core::entry_setup();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let code = run(&argv).clamp(0, 255);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    code
}

/// The logger the global flags ask for; `None` (the error printed) when they are invalid.
fn logger_from(parsed: &cli::Parsed) -> Option<log::Logger> {
    let format = match parsed.value("log-format").unwrap_or("text") {
        "json" => log::Format::Json,
        "text" => log::Format::Text,
        other => {
            log::Logger::stderr_only().error(&format!("invalid log-format: {other}"));
            return None;
        }
    };
    match log::Logger::new(parsed.value("log"), format, parsed.is_set("debug")) {
        Ok(l) => Some(l),
        Err(e) => {
            log::Logger::stderr_only().error(&format!("open log file: {e}"));
            None
        }
    }
}

/// `--root`, or the default: unprivileged, $XDG_RUNTIME_DIR/runr; only commands that keep state
/// need it to be usable. `None` (the error logged) when it is not.
fn state_root(parsed: &cli::Parsed, logger: &mut log::Logger) -> Option<std::path::PathBuf> {
    match parsed.value("root") {
        Some(r) => Some(std::path::PathBuf::from(r)),
        None => match runtime_core::rootless::default_root() {
            Ok(r) => Some(r),
            Err(_) if !needs_state(parsed.args.first()) => Some("/run/runr".into()),
            Err(e) => {
                logger.error(&e.to_string());
                None
            }
        },
    }
}

/// `--rootless` (auto by default); `None` (the error logged) for a value it does not take.
fn rootless_flag(parsed: &cli::Parsed, logger: &mut log::Logger) -> Option<bool> {
    match parsed.value("rootless").unwrap_or("auto") {
        "auto" | "" => Some(runtime_core::rootless::detect()),
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        other => {
            logger.error(&format!(
                "invalid value {other:?} for flag --rootless: true, false or auto"
            ));
            None
        }
    }
}

fn run(argv: &[String]) -> i32 {
    // Phase timings start here, in the first image, before the re-exec below.
    let started = runtime_core::trace::now_ns();
    // Global flags end at the subcommand's name (Go flag rules).
    let parsed = match cli::parse(argv, GLOBAL_FLAGS) {
        Ok(p) => p,
        Err(e) => {
            log::Logger::stderr_only().error(&e.0);
            return 1;
        }
    };
    // CVE-2019-5736: the processes that create, run and exec make are clones of this binary
    // until their execve. They leave it through the exec stub (runtime-core's exec_stub.rs),
    // unless the container rules that out: then the command re-executes from a read-only view
    // of the binary once it knows (`reexec_protected`), before anything it does would have to
    // be done again (the console and pidfd sockets are connected after that point).
    let timings_file = timings::file_from_env();
    let traced = parsed.is_set("debug") || timings_file.is_some();
    // Set only in an image that a first one re-executed.
    let first_image = timings::start_before_exec();
    if parsed.is_set("version") {
        print!("{}", commands::version_text());
        return 0;
    }
    // --log, --log-format and --debug: where and how messages go.
    let Some(mut logger) = logger_from(&parsed) else {
        return 1;
    };
    // The state root, and whether the runtime is rootless.
    let Some(root) = state_root(&parsed, &mut logger) else {
        return 1;
    };
    let Some(rootless) = rootless_flag(&parsed, &mut logger) else {
        return 1;
    };
    // With --debug or RUNR_PHASE_TIMINGS, the library's steps are logged and timed.
    let recorder = traced.then(|| {
        let start = first_image.unwrap_or_else(|| runtime_core::trace::instant_of(started));
        let mut first = vec![("runtime started", start)];
        if first_image.is_some() {
            first.push(("re-exec from a read-only binary", std::time::Instant::now()));
        }
        timings::Recorder::install(logger.debug_copy(), timings_file, &first)
    });
    let mut global = Global {
        started: traced.then_some(started),
        root: runtime_core::spec::absolute(&root),
        systemd_cgroup: parsed.is_set("systemd-cgroup"),
        rootless,
        log: logger,
    };
    // Like runc: `-h`, or no command at all, shows the help, successfully.
    let Some((command, rest)) = parsed.args.split_first().filter(|_| !parsed.is_set("help")) else {
        print!("{}", commands::app_help(GLOBAL_FLAGS));
        return 0;
    };
    let code = commands::dispatch(&mut global, command, rest);
    if let Some(Err(e)) = recorder.map(|r| r.finish(command)) {
        global.log.warn(&format!("{}={e}", timings::FILE_ENV));
    }
    code
}

/// Re-executes this command from a read-only view of the binary (`protect_binary`), for a
/// container the exec stub cannot serve (`why`, logged at debug level). Returns only where
/// that is impossible; the library then warns that the binary is writable.
pub fn reexec_protected(g: &mut Global, why: &str) {
    g.log.debug(
        "re-executing from a read-only binary",
        &[("why", why.to_string())],
    );
    if let Some(started) = g.started {
        timings::keep_start_across_exec(started);
    }
    runtime_core::protect_binary();
    let _ = timings::start_before_exec();
}

/// Every command but `spec`, `features` and help reads or writes the state root.
fn needs_state(command: Option<&String>) -> bool {
    !matches!(
        command.map(String::as_str),
        None | Some("spec" | "features" | "help" | "h")
    )
}
