//! libtrove: the trove engine as one native library for every host.
//!
//! - [`c_api`]: the C ABI declared in `include/trove.h` (C, C++, Node via
//!   koffi, anything with a C FFI).
//! - [`uniffi_api`]: the UniFFI surface behind the Swift, Kotlin and
//!   Python bindings in `bindings/`.
//!
//! This crate only translates; the engine is `trove-core`.

pub mod c_api;
pub mod uniffi_api;

uniffi::setup_scaffolding!("trove");
