//! `trove models`: the models this store runs with and the ones at hand in
//! the models folder, each with what it is and whether it is the file
//! recorded for it.

use std::io::Write;

use trove::{Engine, ModelInfo, ModelRole};

use crate::{Cli, CliResult};

/// Lists the configured models (checked against the store's and setup's
/// records; `accept` records a changed answer model as it is now), then
/// the other models found in the models folder.
pub fn run(cli: &Cli, engine: &Engine, accept: bool) -> CliResult {
    let configured = engine.models(accept)?;
    let models_dir = cli.global.models_dir();
    let found: Vec<ModelInfo> = match models_dir.is_dir() {
        true => trove::find_models(&models_dir)?
            .into_iter()
            .filter(|m| configured.iter().all(|c| !same_file(&c.path, &m.path)))
            .collect(),
        false => Vec::new(),
    };
    let mut out = std::io::stdout().lock();
    for model in configured.iter().chain(&found) {
        if cli.global.json {
            writeln!(out, "{}", serde_json::to_string(model)?)?;
        } else {
            writeln!(out, "{}", describe(model))?;
        }
    }
    if let Some(changed) = configured.iter().find(|m| m.changed) {
        return Err(format!(
            "{} is not the file recorded for it ({}); `trove models --accept` records it as it is now",
            changed.path.display(),
            changed.recorded_by.as_deref().unwrap_or("record"),
        )
        .into());
    }
    Ok(())
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Two lines: role, path and check; then what the file is.
fn describe(m: &ModelInfo) -> String {
    let role = match m.role {
        ModelRole::Embedding => "embedding",
        ModelRole::Answer => "answer",
        ModelRole::LoraAdapter => "lora",
        ModelRole::Found => "found",
    };
    let check = match (&m.recorded_by, m.changed) {
        (Some(by), false) => format!("matches {by} record"),
        (Some(by), true) => format!(
            "CHANGED: {by} recorded sha256 {}",
            m.recorded_sha256.as_deref().unwrap_or("?")
        ),
        (None, _) => "no record".into(),
    };
    let facts: Vec<String> = [
        m.name.clone(),
        m.architecture.clone(),
        m.quantization.clone(),
        m.context_length.map(|n| format!("context {n}")),
        m.chat_template.as_ref().map(|t| format!("chat {t}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    format!(
        "{role:<9} {}  ({check})\n          {} · {:.1} MB · {} · sha256 {}",
        m.path.display(),
        m.format,
        m.size_bytes as f64 / 1e6,
        facts.join(" · "),
        m.sha256
    )
}
