//! Where the models and the store are: shared by `trove` and `trove-dev`
//! (which includes this file), so both find the same models.

use std::path::{Path, PathBuf};

/// `--models`, else `TROVE_MODELS`, else the `models/` of the repository
/// this binary was built from (where `make setup` puts them), else `./models`.
pub fn models_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("TROVE_MODELS").map(PathBuf::from))
    {
        return dir;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    if repo.is_dir() {
        repo
    } else {
        PathBuf::from("models")
    }
}

/// `--store`, else `./.trove`.
pub fn store_dir(flag: Option<&Path>) -> PathBuf {
    flag.map_or_else(|| PathBuf::from(".trove"), Path::to_path_buf)
}
