//! runr's stand-in for the `regex` crate.
//!
//! oci-spec depends on `regex` (with its default, Unicode- and speed-oriented features) for one
//! thing runr compiles in: checking `process.execCPUAffinity` against
//! `^(\d+(-\d+)?)(,\d+(-\d+)?)*$` once per config. That pulled ~0.6 MB of DFA/NFA engines,
//! Unicode tables and aho-corasick into a 2 MB-target binary. `regex-lite` has the same
//! `Regex`/`RegexBuilder` API (the subset oci-spec uses) in ~0.1 MB; its `\d` is ASCII-only,
//! which is what a CPU list wants anyway (the kernel takes ASCII digits only).
//! The workspace's `[patch.crates-io]` puts this crate in `regex`'s place.

pub use regex_lite::*;
