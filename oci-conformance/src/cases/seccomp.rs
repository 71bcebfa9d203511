//! config-linux.md `seccomp`: default action and errno, per-syscall actions and errnoRet, each
//! argument comparison operator, flags, and that the filter is in force (Seccomp: 2).
//! Syscall numbers are x86_64 (the probe makes raw syscalls).

use serde_json::{json, Value};

use super::{case, Case};
use crate::harness::{Bundle, Ctx, Kv};
use crate::{check, check_eq, fail, skip};

/// getcpu: a syscall neither the probe nor the runtimes' init paths make (runc's init calls
/// getppid after loading a filter when noNewPrivileges is false).
const GETCPU: i64 = 309;
const GETPGID: i64 = 121;
const MARK: i32 = 122; // EDQUOT: an errno nothing else returns here

fn arches() -> Value {
    json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
}

fn filter(default: &str, rules: Value) -> Value {
    json!({"defaultAction": default, "architectures": arches(), "syscalls": rules})
}

/// Runs `probe sys ...` once per argument list under the filter; returns each (errno, exit).
fn sys_under(
    ctx: &Ctx,
    seccomp: Value,
    calls: &[&[i64]],
) -> Result<Vec<(i32, i32)>, crate::harness::Why> {
    if std::env::consts::ARCH != "x86_64" {
        skip!("the seccomp cases use x86_64 syscall numbers");
    }
    let mut res = vec![];
    for call in calls {
        let mut args: Vec<String> = vec!["/bin/probe".into(), "sys".into()];
        args.extend(call.iter().map(|n| n.to_string()));
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut b = Bundle::new(ctx, &argv);
        b.config["linux"]["seccomp"] = seccomp.clone();
        let out = b.run();
        let kv = Kv::parse(&out.stdout);
        let errno = kv.get("errno").parse().unwrap_or(-1);
        if out.code != 0 && out.code < 128 {
            fail!("run failed: {}", out.brief());
        }
        res.push((errno, out.code));
    }
    Ok(res)
}

fn op_case(op: &'static str, value: i64, value2: Option<i64>, hit: i64, miss: i64) -> Case {
    case("seccomp", format!("argument comparison {op}"), move |ctx| {
        let mut arg = json!({"index": 0, "value": value, "op": op});
        if let Some(v2) = value2 {
            arg["valueTwo"] = json!(v2);
        }
        let f = filter(
            "SCMP_ACT_ALLOW",
            json!([{"names": ["getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK, "args": [arg]}]),
        );
        let r = sys_under(ctx, f, &[&[GETPGID, hit], &[GETPGID, miss]])?;
        check_eq!(r[0].0, MARK, format!("errno of getpgid({hit}) (matches)"));
        check!(r[1].0 != MARK, "getpgid({miss}) (no match) was filtered");
        Ok(())
    })
}

pub fn seccomp() -> Vec<Case> {
    const A: &str = "seccomp";
    vec![
        case(A, "filter is in force (Seccomp: 2)", |ctx| {
            let mut b = Bundle::probe(ctx);
            b.config["linux"]["seccomp"] = filter(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO"}]),
            );
            let kv = b.run_kv()?;
            check_eq!(kv.get("Seccomp"), "2", "Seccomp mode");
            Ok(())
        }),
        case(A, "SCMP_ACT_ERRNO returns EPERM by default", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO"}]),
                ),
                &[&[GETCPU]],
            )?;
            check_eq!(r[0].0, 1, "errno");
            Ok(())
        }),
        case(A, "errnoRet is returned", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK}]),
                ),
                &[&[GETCPU]],
            )?;
            check_eq!(r[0].0, MARK, "errno");
            Ok(())
        }),
        case(A, "unlisted syscalls get the default action", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK}]),
                ),
                &[&[GETPGID, 0]],
            )?;
            check_eq!(r[0].0, 0, "errno of getpgid(0)");
            Ok(())
        }),
        case(A, "several names in one rule", |ctx| {
            let f = filter(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["getcpu", "getpgid"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK}]),
            );
            let r = sys_under(ctx, f, &[&[GETCPU], &[GETPGID, 0]])?;
            check_eq!((r[0].0, r[1].0), (MARK, MARK), "errnos");
            Ok(())
        }),
        case(A, "SCMP_ACT_KILL kills the process with SIGSYS", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_KILL"}]),
                ),
                &[&[GETCPU]],
            )?;
            check_eq!(r[0].1, 128 + 31, "exit code (128+SIGSYS)");
            Ok(())
        }),
        case(
            A,
            "SCMP_ACT_KILL_PROCESS kills the process with SIGSYS",
            |ctx| {
                let r = sys_under(
                    ctx,
                    filter(
                        "SCMP_ACT_ALLOW",
                        json!([{"names": ["getcpu"], "action": "SCMP_ACT_KILL_PROCESS"}]),
                    ),
                    &[&[GETCPU]],
                )?;
                check_eq!(r[0].1, 128 + 31, "exit code (128+SIGSYS)");
                Ok(())
            },
        ),
        case(A, "SCMP_ACT_KILL_THREAD kills the (only) thread", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_KILL_THREAD"}]),
                ),
                &[&[GETCPU]],
            )?;
            check_eq!(r[0].1, 128 + 31, "exit code (128+SIGSYS)");
            Ok(())
        }),
        case(A, "SCMP_ACT_TRAP sends SIGSYS", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_TRAP"}]),
                ),
                &[&[GETCPU]],
            )?;
            check_eq!(r[0].1, 128 + 31, "exit code (128+SIGSYS)");
            Ok(())
        }),
        case(A, "SCMP_ACT_LOG allows the syscall", |ctx| {
            let r = sys_under(
                ctx,
                filter(
                    "SCMP_ACT_ALLOW",
                    json!([{"names": ["getcpu"], "action": "SCMP_ACT_LOG"}]),
                ),
                &[&[GETCPU]],
            )?;
            check_eq!(r[0], (0, 0), "(errno, exit)");
            Ok(())
        }),
        case(
            A,
            "SCMP_ACT_ALLOW rule under an ERRNO default (allowlist)",
            |ctx| {
                let allowed = json!([
                    "read",
                    "write",
                    "writev",
                    "open",
                    "openat",
                    "close",
                    "fstat",
                    "newfstatat",
                    "stat",
                    "lstat",
                    "statx",
                    "mmap",
                    "munmap",
                    "mprotect",
                    "brk",
                    "rt_sigaction",
                    "rt_sigprocmask",
                    "rt_sigreturn",
                    "sigaltstack",
                    "ioctl",
                    "access",
                    "faccessat",
                    "faccessat2",
                    "execve",
                    "execveat",
                    "exit",
                    "exit_group",
                    "arch_prctl",
                    "set_tid_address",
                    "set_robust_list",
                    "rseq",
                    "futex",
                    "prlimit64",
                    "getrlimit",
                    "readlink",
                    "readlinkat",
                    "getcwd",
                    "uname",
                    "fcntl",
                    "dup",
                    "dup2",
                    "dup3",
                    "getpid",
                    "gettid",
                    "getuid",
                    "geteuid",
                    "getgid",
                    "getegid",
                    "capget",
                    "capset",
                    "prctl",
                    "setgroups",
                    "setuid",
                    "setgid",
                    "setresuid",
                    "setresgid",
                    "chdir",
                    "fchdir",
                    "getdents64",
                    "lseek",
                    "poll",
                    "ppoll",
                    "pselect6",
                    "select",
                    "nanosleep",
                    "clock_nanosleep",
                    "clock_gettime",
                    "getrandom",
                    "close_range",
                    "madvise",
                    "tgkill",
                    "kill",
                    "wait4",
                    "waitid",
                    "pipe",
                    "pipe2",
                    "epoll_create1",
                    "epoll_ctl",
                    "epoll_pwait",
                    "epoll_wait",
                    "sched_yield",
                    "getpgid",
                    "setsid",
                    "getppid",
                    "getcpu",
                    "sched_getaffinity",
                    "pread64",
                    "fstatfs",
                    "statfs",
                    "membarrier",
                    "mremap",
                    "socket",
                    "connect",
                    "sendto",
                    "sendmsg",
                    "recvfrom",
                    "recvmsg",
                    "keyctl",
                    "seccomp",
                    "personality",
                    "setpgid",
                    "umask",
                    "fchown",
                    "fchmod",
                    "fsync",
                    "ftruncate",
                    "unlink",
                    "unlinkat",
                    "mkdir",
                    "mkdirat",
                    "clone",
                    "clone3",
                    "vfork",
                    "fork"
                ]);
                let mut f = filter(
                    "SCMP_ACT_ERRNO",
                    json!([{"names": allowed, "action": "SCMP_ACT_ALLOW"}]),
                );
                f["defaultErrnoRet"] = json!(MARK);
                // getcpu is allowed, sync (162) is not.
                let r = sys_under(ctx, f, &[&[GETCPU], &[162]])?;
                check_eq!(r[0].0, 0, "errno of an allowed syscall");
                check_eq!(
                    r[1].0,
                    MARK,
                    "errno of a syscall outside the allowlist (defaultErrnoRet)"
                );
                Ok(())
            },
        ),
        op_case("SCMP_CMP_EQ", 99, None, 99, 98),
        op_case("SCMP_CMP_NE", 99, None, 98, 99),
        op_case("SCMP_CMP_LT", 99, None, 98, 99),
        op_case("SCMP_CMP_LE", 99, None, 99, 100),
        op_case("SCMP_CMP_GT", 99, None, 100, 99),
        op_case("SCMP_CMP_GE", 99, None, 99, 98),
        op_case("SCMP_CMP_MASKED_EQ", 0xf0, Some(0x10), 0x13, 0x23),
        case(A, "filter applies without noNewPrivileges", |ctx| {
            let mut b = Bundle::probe(ctx);
            b.config["process"]["noNewPrivileges"] = json!(false);
            b.config["linux"]["seccomp"] = filter(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO"}]),
            );
            let kv = b.run_kv()?;
            check_eq!(
                (kv.get("Seccomp"), kv.get("nnp")),
                ("2", "0"),
                "(Seccomp, no_new_privs)"
            );
            Ok(())
        }),
        case(A, "flags SECCOMP_FILTER_FLAG_LOG", |ctx| {
            let mut f = filter(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK}]),
            );
            f["flags"] = json!(["SECCOMP_FILTER_FLAG_LOG"]);
            let r = sys_under(ctx, f, &[&[GETCPU]])?;
            check_eq!(r[0].0, MARK, "errno");
            Ok(())
        }),
        case(A, "flags SECCOMP_FILTER_FLAG_SPEC_ALLOW", |ctx| {
            let mut f = filter(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK}]),
            );
            f["flags"] = json!(["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]);
            let r = sys_under(ctx, f, &[&[GETCPU]])?;
            check_eq!(r[0].0, MARK, "errno");
            Ok(())
        }),
        case(A, "the filter covers children of the process", |ctx| {
            let mut b = Bundle::sh(ctx, "/bin/probe sys 309");
            b.config["linux"]["seccomp"] = filter(
                "SCMP_ACT_ALLOW",
                json!([{"names": ["getcpu"], "action": "SCMP_ACT_ERRNO", "errnoRet": MARK}]),
            );
            let kv = b.run_kv()?;
            check_eq!(kv.get("errno"), MARK.to_string(), "errno in a child");
            Ok(())
        }),
    ]
}
