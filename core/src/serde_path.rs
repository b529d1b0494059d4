//! Paths in JSON as strings. serde refuses paths that are not UTF-8; a
//! report must not fail over a file name, so they are written lossily.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serializer};

pub(crate) fn serialize<S: Serializer>(path: &std::path::Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    String::deserialize(d).map(PathBuf::from)
}
