//! AFL++ harness for the C ABI's options structs and strings: compiles the
//! C ABI modules the target uses straight from ffi/src/c_api (the ffi crate
//! builds only a static and a shared library, which a Rust harness cannot
//! link as a crate) with the target body ffi/src/c_api/fuzzing.rs. They
//! refer to each other as `super::…`, which is this crate's root.

// Only part of each module is reached from the target.
#![allow(dead_code, clippy::missing_safety_doc)]

#[path = "../../../ffi/src/c_api/cancel.rs"]
mod cancel;
#[path = "../../../ffi/src/c_api/fuzzing.rs"]
mod fuzzing;
#[path = "../../../ffi/src/c_api/options.rs"]
mod options;
#[path = "../../../ffi/src/c_api/status.rs"]
mod status;
#[path = "../../../ffi/src/c_api/strings.rs"]
mod strings;

fn main() {
    afl::fuzz!(|data: &[u8]| fuzzing::c_abi(data));
}
