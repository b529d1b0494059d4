//! GPU offload: what the library was built with and what it finds.

use std::ffi::c_char;

use super::engine::{put, put_json};
use super::status::{call, trove_status};

/// The GPU backends this library was built with and the GPUs they find, as
/// a JSON object: {"backends": ["Vulkan"], "devices": [{"name": "Vulkan0",
/// "description", "backend", "memory_total_bytes", "memory_free_bytes"}]}.
/// No backends: trove_engine_options.gpu_layers must stay 0. *json_out is
/// caller-owned: free it with trove_string_free. Set to NULL on failure.
///
/// Thread-safe; needs no engine.
///
/// Safety: json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_gpu_json(json_out: *mut *mut c_char) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointer, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            put_json(json_out, &trove::gpu_support()?);
            Ok(())
        }
    })
}
