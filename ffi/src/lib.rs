//! libtrove: the trove engine as one native library for every host.
//!
//! - [`c_api`]: the C ABI declared in `include/trove.h` (C, C++, Node via
//!   koffi, anything with a C FFI).
//!
//! This crate only translates; the engine is `trove-core`.

pub mod c_api;
