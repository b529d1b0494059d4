//! Fuzz target bodies, shared by the AFL++ harness (`fuzz/`) and the fuzz
//! smoke test (`core/tests/fuzz_smoke.rs`) so that both run the same code.
//! A body panics when the parser breaks a promise: a panic (caught ones
//! included), a document that violates [`Block`]'s invariants, or a parse
//! that outlives its time bound. Anything else (a document or a
//! [`SkipReason`]) is a pass. Not part of the supported API.

use std::path::Path;
use std::time::{Duration, Instant};

use super::{Block, IngestLimits, ParsedDocument, SkipReason, bounded, zip};

/// A target's body: runs one input, panics on a finding.
pub type Body = fn(&[u8]);

/// Every target: its name (the corpus folder under `fuzz/corpus/`) and body.
pub const TARGETS: &[(&str, Body)] = &[
    ("text", text),
    ("markdown", markdown),
    ("host", host),
    ("pdf", pdf),
    ("html", html),
    ("docx", docx),
    ("odt", odt),
    ("epub", epub),
    ("canvas", canvas),
    ("zip", zip_archive),
];

/// The body of the target called `name`.
pub fn target(name: &str) -> Option<Body> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
}

/// The PDF time limit the targets run under: short, so that a slow input
/// shows up as a timeout (a pass: the limit stopped the work) and not as a
/// hang of the fuzzer.
pub const PDF_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest any one parse may take, whatever the format: the PDF limit plus
/// room for a loaded machine. The AFL++ campaign's `-t` is above it, so a
/// slow parse panics here (with its time) before AFL++ calls it a hang.
pub const TIME_BOUND: Duration = Duration::from_secs(8);

fn limits() -> IngestLimits {
    IngestLimits {
        pdf_timeout: PDF_TIMEOUT,
        // Small enough that a bomb costs the fuzzer milliseconds, not seconds.
        max_unpacked_bytes: 16 * 1024 * 1024,
        ..IngestLimits::default()
    }
}

/// Parses `data` as the file `name` and checks the result.
fn file(name: &str, data: &[u8]) {
    let started = Instant::now();
    let result = super::parse(Path::new(name), data, &limits());
    let took = started.elapsed();
    assert!(took <= TIME_BOUND, "{name}: the parse took {took:?}");
    match result {
        Ok(doc) => check(&doc),
        Err(SkipReason::PdfPanic { detail }) => panic!("the PDF extractor panicked: {detail}"),
        Err(reason) => check_reason(&reason),
    }
}

fn text(data: &[u8]) {
    file("fuzz.txt", data)
}

fn markdown(data: &[u8]) {
    file("fuzz.md", data)
}

fn pdf(data: &[u8]) {
    file("fuzz.pdf", data)
}

fn html(data: &[u8]) {
    file("fuzz.html", data)
}

fn docx(data: &[u8]) {
    file("fuzz.docx", data)
}

fn odt(data: &[u8]) {
    file("fuzz.odt", data)
}

fn epub(data: &[u8]) {
    file("fuzz.epub", data)
}

fn canvas(data: &[u8]) {
    file("fuzz.canvas", data)
}

/// What a host hands over with a note: `title NUL metadata-JSON NUL text`
/// (missing parts are empty; bytes that are not UTF-8 are replaced, as a
/// host's own string type would have refused them), through
/// metadata_from_json and parse_host_text as Engine::add_text takes them.
fn host(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0).map(String::from_utf8_lossy);
    let mut next = || parts.next().unwrap_or_default();
    let (title, metadata, text) = (next(), next(), next());
    let started = Instant::now();
    let metadata = crate::metadata_from_json(&metadata).unwrap_or_default();
    if let Ok(doc) = super::parse_host_text(&title, &text, &metadata) {
        check(&doc);
    }
    let took = started.elapsed();
    assert!(took <= TIME_BOUND, "host text took {took:?}");
}

/// Our zip reader alone: the directory, then every entry streamed to its
/// end under the archive limits.
fn zip_archive(data: &[u8]) {
    let started = Instant::now();
    let limits = limits();
    if let Ok(archive) = zip::Archive::open(data, &limits) {
        for name in archive.names() {
            let mut sink = std::io::sink();
            if let Ok(mut reader) = archive.reader(&name, "the entry") {
                // A damaged entry is an error here, as it is for the parsers.
                let _ = std::io::copy(&mut reader, &mut sink);
            }
        }
        // The limit is checked after each read, so one read buffer may pass it.
        assert!(
            archive.unpacked() <= limits.max_unpacked_bytes + 64 * 1024,
            "{} bytes unpacked, over the limit",
            archive.unpacked()
        );
    }
    let took = started.elapsed();
    assert!(took <= TIME_BOUND, "the zip reader took {took:?}");
}

/// What every parsed document promises the chunker and the citations.
fn check(doc: &ParsedDocument) {
    assert!(!doc.title.trim().is_empty(), "a document without a title");
    let mut last_start = 0;
    for b in &doc.blocks {
        check_block(b);
        // Blocks are in document order (PDF and the built formats only).
        if b.lines.is_none() {
            assert!(
                b.char_start >= last_start,
                "blocks out of order: {b:?} after char {last_start}"
            );
            last_start = b.char_start;
        }
    }
}

fn check_block(b: &Block) {
    assert!(!b.text.trim().is_empty(), "an empty block: {b:?}");
    assert!(
        b.text.chars().count() <= bounded::MAX_BLOCK_CHARS,
        "a block of {} chars",
        b.text.chars().count()
    );
    assert!(b.char_start <= b.char_end, "char range reversed: {b:?}");
    if let Some((first, last)) = b.lines {
        assert!(1 <= first && first <= last, "line range {first}-{last}");
    }
    if let Some(page) = b.page {
        assert!(page >= 1, "page 0");
    }
}

/// A skip reason is a one-line message with a code.
fn check_reason(reason: &SkipReason) {
    let message = reason.to_string();
    assert!(!reason.code().is_empty());
    assert!(
        !message.is_empty() && !message.contains('\n'),
        "{}: {message:?}",
        reason.code()
    );
}

/// Deterministic mutations of a seed (bit flips, truncations, byte
/// insertions and deletions, repeats, splices with another seed), for the
/// smoke test: the same seed and round always give the same bytes.
pub struct Mutator {
    state: u64,
}

impl Mutator {
    pub fn new(seed: u64) -> Self {
        Mutator {
            state: seed ^ 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// splitmix64: tiny, and good enough to pick positions.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// A mutation of `seed`; `other` is spliced in by some rounds.
    pub fn mutate(&mut self, seed: &[u8], other: &[u8]) -> Vec<u8> {
        let mut out = seed.to_vec();
        for _ in 0..1 + self.below(4) {
            let at = self.below(out.len() + 1);
            match self.below(7) {
                0 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] ^= 1 << self.below(8);
                }
                1 => out.truncate(at),
                2 => {
                    let byte = *[0u8, 0xFF, b'<', b'>', b'\n', b'[', b'{', b'"', b'/', b'%']
                        .get(self.below(10))
                        .unwrap_or(&0);
                    out.insert(at, byte);
                }
                3 if at < out.len() => {
                    let n = self.below(out.len() - at).min(64);
                    out.drain(at..at + n);
                }
                4 if at < out.len() => {
                    let n = (1 + self.below(16)).min(out.len() - at);
                    let piece = out[at..at + n].to_vec();
                    for _ in 0..self.below(64) {
                        out.splice(at..at, piece.iter().copied());
                    }
                }
                5 if !other.is_empty() => {
                    let from = self.below(other.len());
                    let n = self.below(other.len() - from).min(4096);
                    out.splice(at.., other[from..from + n].iter().copied());
                }
                _ if out.len() >= 4 => {
                    // An interesting integer over 4 bytes (sizes, offsets, counts).
                    let i = self.below(out.len() - 3);
                    let value: u32 = [0, 1, 0x7FFF_FFFF, u32::MAX, 0xFFFF, 0x8000][self.below(6)];
                    out[i..i + 4].copy_from_slice(&value.to_le_bytes());
                }
                _ => out.push(b' '),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutations_are_deterministic_and_differ_from_the_seed() {
        let seed = b"# Title\n\nSome text [[link]] and more.\n";
        let a: Vec<Vec<u8>> = {
            let mut m = Mutator::new(7);
            (0..50).map(|_| m.mutate(seed, b"other")).collect()
        };
        let mut m = Mutator::new(7);
        let b: Vec<Vec<u8>> = (0..50).map(|_| m.mutate(seed, b"other")).collect();
        assert_eq!(a, b);
        assert!(a.iter().filter(|x| x.as_slice() != seed).count() > 40);
    }

    #[test]
    fn a_broken_promise_is_a_panic() {
        let bad = Block {
            text: "x".into(),
            heading_path: Vec::new(),
            char_start: 5,
            char_end: 2,
            lines: None,
            page: None,
            locator: None,
        };
        assert!(std::panic::catch_unwind(|| check_block(&bad)).is_err());
        assert!(target("pdf").is_some() && target("xlsx").is_none());
    }
}
