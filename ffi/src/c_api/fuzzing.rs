//! The C ABI fuzz target's body: options structs of any struct_size and
//! content and texts of any bytes and length, read as the entry points
//! read them. Shared by the fuzz smoke test below and the AFL++ harness
//! (`fuzz/src/bin/c_abi.rs`, which compiles this module with the ones it
//! uses), so both run the same code.
//!
//! Input: a selector byte (which struct), a little-endian u32 struct_size,
//! the struct's bytes, then the texts the struct's pointers are pointed at,
//! separated by 0xFF bytes. Raw pointers from the input are never
//! dereferenced: each non-NULL pointer field is replaced by one of those
//! texts (NUL-terminated), and each length is kept when it is
//! TROVE_NUL_TERMINATED, else cut to the text's length. A panic inside an
//! entry point's body (TROVE_STATUS_INTERNAL) or a failure without a
//! message is a finding.

use std::ffi::{CStr, CString, c_char};

use super::options::{
    self, Versioned, trove_ask_options, trove_engine_options, trove_note, trove_search_options,
};
use super::status::{Failure, call, trove_last_error, trove_status};
use super::strings::{self, TROVE_NUL_TERMINATED};

/// The texts that pointer fields point at.
struct Texts {
    texts: Vec<CString>,
    pointers: Vec<*const c_char>,
}

impl Texts {
    fn new(data: &[u8]) -> Self {
        let texts: Vec<CString> = data
            .split(|&b| b == 0xFF)
            .map(|t| {
                let t: Vec<u8> = t.iter().copied().filter(|&b| b != 0).collect();
                CString::new(t).expect("NUL bytes were left out")
            })
            .collect();
        let pointers = texts.iter().map(|t| t.as_ptr()).collect();
        Texts { texts, pointers }
    }

    /// NULL for a NULL field, else the next text.
    fn pointer(&self, field: *const c_char, n: &mut usize) -> *const c_char {
        if field.is_null() {
            return std::ptr::null();
        }
        *n += 1;
        self.texts[*n % self.texts.len()].as_ptr()
    }

    /// A length for `ptr`: TROVE_NUL_TERMINATED stays, anything else is cut
    /// to what `ptr` holds.
    fn len(ptr: *const c_char, len: usize) -> usize {
        if ptr.is_null() || len == TROVE_NUL_TERMINATED {
            return len;
        }
        // SAFETY: a pointer from `pointer`, into a live CString.
        len.min(unsafe { CStr::from_ptr(ptr) }.to_bytes().len())
    }

    /// An array of `count` texts: NULL stays NULL (so a count without an
    /// array is tried), else `count` cut to the texts there are.
    fn array(&self, field: *const *const c_char, count: usize) -> (*const *const c_char, usize) {
        if field.is_null() {
            (std::ptr::null(), count)
        } else {
            (self.pointers.as_ptr(), count.min(self.pointers.len()))
        }
    }
}

/// Reads a `T` as a caller's struct of `struct_size` bytes whose fields
/// after struct_size are `fields` (zero beyond them).
fn read<T: Versioned>(struct_size: u32, fields: &[u8]) -> Result<T, Failure> {
    let known = std::mem::size_of::<T>();
    // Never more than the struct and a little: all bytes a caller can mean.
    let given = (struct_size as usize).clamp(4, known + 64);
    let mut buffer = vec![0u8; given];
    buffer[..4].copy_from_slice(&struct_size.to_le_bytes());
    for (b, &v) in buffer[4..].iter_mut().zip(fields) {
        *b = v;
    }
    // SAFETY: `given` readable bytes, as options::read asks.
    unsafe { options::read(buffer.as_ptr().cast::<T>()) }
}

/// Runs the target on one input.
pub fn c_abi(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let struct_size = rest
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let body = rest.get(4..).unwrap_or_default();
    let known = match selector % 4 {
        0 => std::mem::size_of::<trove_engine_options>(),
        1 => std::mem::size_of::<trove_search_options>(),
        2 => std::mem::size_of::<trove_ask_options>(),
        _ => std::mem::size_of::<trove_note>(),
    };
    let (fields, texts) = body.split_at(body.len().min(known - 4));
    let texts = Texts::new(texts);
    let status = call(|| match selector % 4 {
        0 => engine_options(&read(struct_size, fields)?, &texts),
        1 => search_options(&read(struct_size, fields)?, &texts),
        2 => ask_options(&read(struct_size, fields)?, &texts),
        _ => note(&read(struct_size, fields)?, &texts),
    });
    assert!(
        !matches!(status, trove_status::Internal),
        "an entry point body panicked"
    );
    // SAFETY: trove_last_error never returns NULL.
    let message = unsafe { CStr::from_ptr(trove_last_error()) };
    assert_eq!(
        matches!(status, trove_status::Ok),
        message.is_empty(),
        "status {status:?} with message {message:?}"
    );
}

fn engine_options(o: &trove_engine_options, texts: &Texts) -> Result<(), Failure> {
    let mut n = 0;
    let mut o = *o;
    o.llm_path = texts.pointer(o.llm_path, &mut n);
    o.embedding_path = texts.pointer(o.embedding_path, &mut n);
    (o.lora_paths, o.lora_count) = texts.array(o.lora_paths, o.lora_count);
    // Scales come from the fuzzer's bytes only through the count above.
    o.lora_scales = std::ptr::null();
    let dir = c"store".as_ptr();
    // SAFETY: every pointer is NULL or into `texts`, counts within them;
    // the directories are NUL-terminated.
    unsafe { options::engine_config(dir, dir, &o) }?;
    Ok(())
}

fn search_options(o: &trove_search_options, texts: &Texts) -> Result<(), Failure> {
    let mut n = 0;
    let mut o = *o;
    o.path_prefix = texts.pointer(o.path_prefix, &mut n);
    (o.tags, o.tag_count) = texts.array(o.tags, o.tag_count);
    (o.document_ids, o.document_id_count) = texts.array(o.document_ids, o.document_id_count);
    // SAFETY: every pointer is NULL or into `texts`, counts within them.
    unsafe { o.retrieval(8) }?;
    Ok(())
}

fn ask_options(o: &trove_ask_options, texts: &Texts) -> Result<(), Failure> {
    let mut n = 0;
    let mut o = *o;
    o.path_prefix = texts.pointer(o.path_prefix, &mut n);
    (o.tags, o.tag_count) = texts.array(o.tags, o.tag_count);
    (o.document_ids, o.document_id_count) = texts.array(o.document_ids, o.document_id_count);
    o.cancel = std::ptr::null();
    // SAFETY: every pointer is NULL or into `texts`, counts within them.
    unsafe { o.retrieval(3) }?;
    options::strategy(o.strategy)?;
    options::share_or(o.min_grounding, 0.4, "min_grounding")?;
    options::share_or(o.min_draft_support, 0.5, "min_draft_support")?;
    Ok(())
}

/// As trove_add_text reads a note, up to the engine call.
fn note(o: &trove_note, texts: &Texts) -> Result<(), Failure> {
    let mut n = 0;
    let id = texts.pointer(o.id, &mut n);
    let title = texts.pointer(o.title, &mut n);
    let text = texts.pointer(o.text, &mut n);
    let metadata = texts.pointer(o.metadata_json, &mut n);
    // SAFETY: NULL or texts' strings, lengths within them.
    unsafe {
        strings::required(id, Texts::len(id, o.id_len), "note.id")?;
        strings::optional(title, Texts::len(title, o.title_len), "note.title")?;
        strings::required(text, Texts::len(text, o.text_len), "note.text")?;
        let metadata = strings::optional(
            metadata,
            Texts::len(metadata, o.metadata_json_len),
            "note.metadata_json",
        )?
        .unwrap_or("");
        trove::metadata_from_json(metadata)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};
    use std::time::Instant;

    fn files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.expect("a directory entry").path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The fuzz smoke for the C ABI: the seed corpus, every regression
    /// input and a fixed set of mutations of the seeds, each without a
    /// panic. (make test runs it; fuzz/README.md has the campaign.)
    #[test]
    fn c_abi_survives_its_corpus_and_mutations() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
        let seeds: Vec<Vec<u8>> = files(&root.join("corpus/c_abi"))
            .iter()
            .map(|p| std::fs::read(p).expect("a seed"))
            .collect();
        assert!(seeds.len() >= 4, "the c_abi seed corpus is missing");
        let started = Instant::now();
        for input in seeds.iter().cloned().chain(
            files(&root.join("regressions/c_abi"))
                .iter()
                .map(|p| std::fs::read(p).unwrap()),
        ) {
            c_abi(&input);
        }
        let mut mutator = trove::ingest::fuzzing::Mutator::new(13);
        for round in 0..20_000 {
            let seed = &seeds[round % seeds.len()];
            let other = &seeds[(round / seeds.len()) % seeds.len()];
            let input = mutator.mutate(seed, other);
            let outcome = std::panic::catch_unwind(|| c_abi(&input));
            assert!(
                outcome.is_ok(),
                "c_abi failed on mutation {round}: {input:?}"
            );
        }
        eprintln!("c_abi smoke: {:?}", started.elapsed());
    }

    #[test]
    fn a_too_short_struct_and_unknown_fields_are_refused_with_messages() {
        // struct_size 2: below the size field itself.
        let mut input = vec![1u8];
        input.extend_from_slice(&2u32.to_le_bytes());
        c_abi(&input);
        assert!(read::<trove_note>(2, &[]).is_err());
        let longer = std::mem::size_of::<trove_search_options>() as u32 + 8;
        let mut bytes = vec![0u8; longer as usize - 4];
        assert!(read::<trove_search_options>(longer, &bytes).is_ok());
        *bytes.last_mut().unwrap() = 1;
        let err = read::<trove_search_options>(longer, &bytes).err().unwrap();
        assert!(err.message.contains("does not know"), "{}", err.message);
    }
}
