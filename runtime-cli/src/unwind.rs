//! The unwinder entry points std links against, answered here instead of by the shared libgcc
//! (`libgcc_s.so.1`), in builds that cannot unwind anyway (`panic = "abort"`, the release
//! profile; its unwind tables are dropped at link time, see build.rs).
//!
//! Why: loading libgcc_s costs every runr process ~0.1 ms before `main` on this VM, most of it
//! its constructor `__cpu_indicator_init`, whose CPUID instructions each trap to the hypervisor
//! (~5 us apiece here), and `create`, `run` and `exec` are two processes each (the re-exec of
//! `protect_binary`). With every symbol std asks for defined in the binary, the linker
//! (`--as-needed`) records no dependency on libgcc_s at all.
//!
//! What it changes: nothing raises an exception under panic=abort, so only `_Unwind_Backtrace`
//! is ever called, by a backtrace capture (`RUST_BACKTRACE`/`RUST_LIB_BACKTRACE` set: a panic
//! message, an anyhow error). It reports the end of the stack at once: an empty backtrace,
//! where the shared unwinder, finding no table for runr's frames, stopped after its own. The
//! rest take a frame context that only an unwinder in progress could hand out, so they can
//! never be reached; they abort rather than pretend.
#![allow(unsafe_code)] // `no_mangle` only: these are the C symbols std calls; no unsafe operation.

use std::ffi::{c_int, c_void};

/// `_URC_END_OF_STACK` of `unwind.h`.
const END_OF_STACK: c_int = 5;

#[no_mangle]
pub extern "C" fn _Unwind_Backtrace(_trace: *mut c_void, _arg: *mut c_void) -> c_int {
    END_OF_STACK
}

/// The entry points that take a context or an exception; see the module's doc.
macro_rules! unreachable_entries {
    ($($name:ident($($arg:ident: $ty:ty),*) -> $ret:ty;)*) => {$(
        #[no_mangle]
        pub extern "C" fn $name($($arg: $ty),*) -> $ret {
            let _ = ($($arg,)*);
            std::process::abort()
        }
    )*};
}

unreachable_entries! {
    _Unwind_Resume(exception: *mut c_void) -> ();
    _Unwind_GetIP(context: *mut c_void) -> usize;
    _Unwind_GetIPInfo(context: *mut c_void, before: *mut c_int) -> usize;
    _Unwind_GetCFA(context: *mut c_void) -> usize;
    _Unwind_GetLanguageSpecificData(context: *mut c_void) -> *mut c_void;
    _Unwind_GetRegionStart(context: *mut c_void) -> usize;
    _Unwind_GetDataRelBase(context: *mut c_void) -> usize;
    _Unwind_GetTextRelBase(context: *mut c_void) -> usize;
    _Unwind_SetGR(context: *mut c_void, index: c_int, value: usize) -> ();
    _Unwind_SetIP(context: *mut c_void, value: usize) -> ();
    _Unwind_FindEnclosingFunction(pc: *mut c_void) -> *mut c_void;
}
