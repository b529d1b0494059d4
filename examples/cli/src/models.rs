//! `trove models`: the models this store runs with and the ones at hand in
//! the models folder, each with what it is and whether it is the file
//! recorded for it, and the GPUs the answer model can be offloaded to.

use std::io::Write;

use trove::{Engine, GpuSupport, ModelInfo, ModelRole};

use crate::{Cli, CliResult};

/// Lists the configured models (checked against the store's and setup's
/// records; `accept` records a changed answer model as it is now), then
/// the other models found in the models folder, then the GPUs.
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
    let gpu = trove::gpu_support()?;
    if cli.global.json {
        writeln!(out, "{}", serde_json::json!({ "gpu": gpu }))?;
    } else {
        writeln!(out, "{}", describe_gpu(&gpu, cli.global.gpu_layers))?;
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

/// A line per GPU found, or why there is none.
fn describe_gpu(gpu: &GpuSupport, gpu_layers: u32) -> String {
    if gpu.backends.is_empty() {
        return "gpu       none in this build: the answer model runs on the CPU (build with \
                --features vulkan, metal or cuda to offload it)"
            .into();
    }
    if gpu.devices.is_empty() {
        return format!(
            "gpu       {} built in, but no GPU found: check its driver",
            gpu.backends.join("/")
        );
    }
    let use_note = match gpu_layers {
        0 => "--gpu-layers N offloads the answer model".to_string(),
        n => format!("answer model: {n} layers offloaded (--gpu-layers)"),
    };
    gpu.devices
        .iter()
        .map(|d| {
            format!(
                "gpu       {}  {}\n          {} · {:.1} GB · {use_note}",
                d.name,
                d.description,
                d.backend,
                d.memory_total_bytes as f64 / 1e9
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
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
