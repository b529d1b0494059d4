//! GPU offload: the devices llama.cpp's compiled-in backends find, and the
//! check that an offload asked for can happen (llama.cpp itself would run
//! the model on the CPU without a word).

use llama_cpp_2::{LlamaBackendDeviceType, list_llama_ggml_backend_devices};

use crate::{Error, Result};

/// A GPU llama.cpp can offload the answer model to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GpuDevice {
    /// llama.cpp's name for it, e.g. `Vulkan0`: what its logs call it.
    pub name: String,
    /// What the driver calls it, e.g. `NVIDIA GeForce RTX 3080`.
    pub description: String,
    /// The backend that drives it: `Vulkan`, `Metal` or `CUDA`.
    pub backend: String,
    /// Its memory, as the driver reports it.
    pub memory_total_bytes: u64,
    pub memory_free_bytes: u64,
}

/// What GPU offload this build of trove and this machine offer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GpuSupport {
    /// The GPU backends built in (the `vulkan`, `metal` and `cuda` cargo
    /// features); empty: the answer model runs on the CPU only.
    pub backends: Vec<String>,
    /// The GPUs they find, that the answer model's layers can be offloaded
    /// to ([`LlmConfig::gpu_layers`](super::LlmConfig::gpu_layers)).
    pub devices: Vec<GpuDevice>,
}

/// The GPU backends of this build and the devices they find.
///
/// ```
/// let gpu = trove::llm::gpu_support()?;
/// for device in &gpu.devices {
///     println!("{} ({}): {} MiB", device.name, device.description, device.memory_total_bytes >> 20);
/// }
/// # Ok::<(), trove::Error>(())
/// ```
pub fn gpu_support() -> Result<GpuSupport> {
    crate::llama_backend::backend()?;
    let backends = [
        (cfg!(feature = "vulkan"), "Vulkan"),
        (cfg!(feature = "metal"), "Metal"),
        (cfg!(feature = "cuda"), "CUDA"),
    ]
    .into_iter()
    .filter(|(built, _)| *built)
    .map(|(_, name)| name.to_string())
    .collect();
    let devices = list_llama_ggml_backend_devices()
        .into_iter()
        .filter(|device| {
            matches!(
                device.device_type,
                LlamaBackendDeviceType::Gpu | LlamaBackendDeviceType::IntegratedGpu
            )
        })
        .map(|device| GpuDevice {
            name: device.name,
            description: device.description,
            backend: device.backend,
            memory_total_bytes: device.memory_total as u64,
            memory_free_bytes: device.memory_free as u64,
        })
        .collect();
    Ok(GpuSupport { backends, devices })
}

/// Refuses `gpu_layers` > 0 where no GPU would take them, naming the fix.
pub(crate) fn check_offload(gpu_layers: u32) -> Result<()> {
    if gpu_layers == 0 {
        return Ok(());
    }
    let gpu = gpu_support()?;
    if gpu.backends.is_empty() {
        return Err(Error::invalid(format!(
            "gpu_layers is {gpu_layers}, but this build of trove has no GPU backend: build it \
             with the `vulkan`, `metal` or `cuda` feature, or set gpu_layers to 0"
        )));
    }
    if gpu.devices.is_empty() {
        return Err(Error::model(format!(
            "gpu_layers is {gpu_layers}, but llama.cpp's {} backend found no GPU: check the \
             device's driver (a CPU Vulkan driver such as Mesa's lavapipe is only used when \
             GGML_VK_VISIBLE_DEVICES names it), or set gpu_layers to 0",
            gpu.backends.join("/")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn no_offload_needs_no_gpu() {
        assert!(check_offload(0).is_ok());
    }

    #[test]
    #[cfg(not(any(feature = "vulkan", feature = "metal", feature = "cuda")))]
    fn offload_in_a_cpu_build_is_refused_with_the_fix() {
        let gpu = gpu_support().unwrap();
        assert!(gpu.backends.is_empty() && gpu.devices.is_empty(), "{gpu:?}");
        let err = check_offload(99).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("`vulkan`"), "{err}");
    }
}
