//! The harness of the test binaries that drive runtime-core in-process, as an embedder does
//! (tests/embed_library.rs, tests/embed_outcome.rs): `harness = false`, because creating a
//! container needs a single-threaded caller and libtest runs tests on threads.

use runtime_core::{Container, ContainerBuilder, Stdio};

use crate::{Bundle, Runtime};

/// A case: its name (what a command-line filter matches) and its body.
pub type Case = (&'static str, fn());

/// Runs, in turn on the main thread, every case whose name contains one of the command line's
/// non-flag arguments (every case when there is none), with libtest-like progress lines; a
/// failing case panics, which fails the binary.
pub fn run_cases(cases: &[Case]) {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut ran = 0;
    for (name, case) in cases {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        eprintln!("test {name} ...");
        case();
        eprintln!("test {name} ... ok");
        ran += 1;
    }
    eprintln!("test result: ok. {ran} passed");
}

/// runr's builder for a container of `bundle` named `id`, its state under `rt`'s root.
pub fn builder(rt: &Runtime, id: &str, bundle: &Bundle) -> ContainerBuilder {
    ContainerBuilder::new(id, &bundle.dir).root(&rt.root)
}

/// [`builder`] with the given stdin and stdout, created (panics if create fails).
pub fn create(rt: &Runtime, id: &str, bundle: &Bundle, stdin: Stdio, stdout: Stdio) -> Container {
    builder(rt, id, bundle)
        .stdin(stdin)
        .stdout(stdout)
        .create()
        .expect("create")
}
