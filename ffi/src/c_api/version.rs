//! The library's version, at compile time (macros) and at run time, so a
//! host can check that the library it loaded matches the header it was
//! built with.

use std::ffi::c_char;

use super::status::guard;

/// Major version: a change means the ABI changed incompatibly.
pub const TROVE_VERSION_MAJOR: u32 = 0;
/// Minor version: additions only (while MAJOR is 0, a new minor may break).
pub const TROVE_VERSION_MINOR: u32 = 2;
/// Patch version: fixes only.
pub const TROVE_VERSION_PATCH: u32 = 0;
/// MAJOR * 1000000 + MINOR * 1000 + PATCH, as trove_version_number() returns.
pub const TROVE_VERSION_NUMBER: u32 =
    TROVE_VERSION_MAJOR * 1_000_000 + TROVE_VERSION_MINOR * 1_000 + TROVE_VERSION_PATCH;

/// The library version as text, e.g. "0.2.0". Static storage; never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn trove_version() -> *const c_char {
    guard(|| concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast())
}

/// The library version as MAJOR * 1000000 + MINOR * 1000 + PATCH. A host
/// compares it with TROVE_VERSION_NUMBER from the header it was built with:
/// the same MAJOR (and, while MAJOR is 0, the same MINOR) is compatible.
#[unsafe(no_mangle)]
pub extern "C" fn trove_version_number() -> u32 {
    TROVE_VERSION_NUMBER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_macros_match_the_crate_version() {
        let parts: Vec<u32> = env!("CARGO_PKG_VERSION")
            .split('.')
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(
            parts,
            [
                TROVE_VERSION_MAJOR,
                TROVE_VERSION_MINOR,
                TROVE_VERSION_PATCH
            ]
        );
        assert_eq!(trove_version_number(), 2_000);
    }
}
