//! llama.cpp's process-wide state, shared by the answer model (`llm`) and
//! GGUF embedding models (`embed`).

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use llama_cpp_2::llama_backend::LlamaBackend;

use crate::{Error, Result};

/// The backend, initialised once: `LlamaBackend::init` fails on a second
/// call. Its logs are silenced; a library must not write to the host's stderr.
pub(crate) fn backend() -> Result<&'static LlamaBackend> {
    static BACKEND: OnceLock<Option<LlamaBackend>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            LlamaBackend::init().ok().map(|mut backend| {
                backend.void_logs();
                backend
            })
        })
        .as_ref()
        .ok_or_else(|| {
            Error::model("llama.cpp was already initialised by another library in this process")
        })
}

/// Held while a context is created. llama-cpp-2 documents creating contexts
/// in parallel as unsound (llama.cpp may write to the shared model), so every
/// context of every model in the process is created under this one lock.
pub(crate) fn context_creation() -> MutexGuard<'static, ()> {
    static CREATE: Mutex<()> = Mutex::new(());
    CREATE.lock().unwrap_or_else(PoisonError::into_inner)
}
