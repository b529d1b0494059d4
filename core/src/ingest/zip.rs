//! A small zip reader for document containers (DOCX, ODT, EPUB): stored
//! and deflated entries, zip64 sizes, nothing else. Entries are streamed,
//! never inflated whole into memory, and every byte out counts against the
//! [`IngestLimits`]: entry count, total unpacked bytes and compression ratio
//! stop zip bombs; CRC and size checks catch truncated or bit-flipped files.
//! Archives nested where a document part belongs are refused, never opened.

use std::cell::{Cell, RefCell};
use std::io::{self, Read};

use flate2::read::DeflateDecoder;

use super::{IngestLimits, SkipReason};

/// Past this many bytes out, an entry's compression ratio is checked.
const RATIO_FLOOR: u64 = 1024 * 1024;
/// Local file header signature, also how a nested zip starts.
const LOCAL_SIG: u32 = 0x0403_4b50;

/// One entry of the central directory.
#[derive(Debug, Clone)]
struct Entry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    header_offset: u64,
}

/// An opened archive over the file's bytes.
pub(super) struct Archive<'a> {
    bytes: &'a [u8],
    entries: Vec<Entry>,
    limits: IngestLimits,
    unpacked: Cell<u64>,
    /// A limit or integrity violation noticed while streaming: the reason an
    /// I/O error surfaced through a parser.
    problem: RefCell<Option<SkipReason>>,
}

fn corrupt(detail: impl Into<String>) -> SkipReason {
    SkipReason::ArchiveCorrupt {
        detail: detail.into(),
    }
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl<'a> Archive<'a> {
    /// Reads the central directory of `bytes`.
    pub fn open(bytes: &'a [u8], limits: &IngestLimits) -> Result<Self, SkipReason> {
        let truncated =
            || corrupt("the end of the zip directory is missing; the file is probably truncated");
        let eocd = find_eocd(bytes).ok_or_else(truncated)?;
        let mut count = u64::from(u16_at(bytes, eocd + 10).ok_or_else(truncated)?);
        let mut cd_size = u64::from(u32_at(bytes, eocd + 12).ok_or_else(truncated)?);
        let mut cd_offset = u64::from(u32_at(bytes, eocd + 16).ok_or_else(truncated)?);
        if let Some(z) = zip64_eocd(bytes, eocd) {
            count = u64_at(bytes, z + 32).ok_or_else(truncated)?;
            cd_size = u64_at(bytes, z + 40).ok_or_else(truncated)?;
            cd_offset = u64_at(bytes, z + 48).ok_or_else(truncated)?;
        }
        if count > limits.max_archive_entries as u64 {
            return Err(SkipReason::ArchiveBomb {
                detail: format!(
                    "{count} entries, over the {}-entry limit (max_archive_entries)",
                    limits.max_archive_entries
                ),
            });
        }
        let start = usize::try_from(cd_offset)
            .ok()
            .filter(|&s| s <= bytes.len());
        let end = start.and_then(|s| s.checked_add(usize::try_from(cd_size).ok()?));
        let directory = match (start, end) {
            (Some(s), Some(e)) if e <= bytes.len() => &bytes[s..e],
            _ => {
                return Err(corrupt(
                    "the zip directory points past the end of the file; the file is probably truncated",
                ));
            }
        };
        let entries = read_directory(directory, count)?;
        Ok(Archive {
            bytes,
            entries,
            limits: limits.clone(),
            unpacked: Cell::new(0),
            problem: RefCell::new(None),
        })
    }

    /// The entries' names in directory order (the zip fuzz target reads them all).
    pub fn names(&self) -> Vec<String> {
        self.entries.iter().map(|e| e.name.clone()).collect()
    }

    /// Bytes inflated so far, all entries together.
    pub fn unpacked(&self) -> u64 {
        self.unpacked.get()
    }

    /// Whether an entry of this name exists (exactly, else ignoring case).
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    fn find(&self, name: &str) -> Option<&Entry> {
        let name = name.trim_start_matches('/');
        self.entries.iter().find(|e| e.name == name).or_else(|| {
            self.entries
                .iter()
                .find(|e| e.name.eq_ignore_ascii_case(name))
        })
    }

    /// A streaming reader of the entry `name`; a missing entry is a damaged
    /// container (`what` says which part it is).
    pub fn reader(&self, name: &str, what: &str) -> Result<EntryReader<'_, 'a>, SkipReason> {
        let entry = self
            .find(name)
            .ok_or_else(|| corrupt(format!("{what} ({name}) is missing")))?;
        if entry.flags & 1 != 0 {
            return Err(SkipReason::Encrypted {
                detail: format!("{name} is encrypted inside the zip"),
            });
        }
        let h = usize::try_from(entry.header_offset)
            .ok()
            .filter(|&h| u32_at(self.bytes, h) == Some(LOCAL_SIG))
            .ok_or_else(|| corrupt(format!("the local header of {name} is damaged")))?;
        let name_len = usize::from(u16_at(self.bytes, h + 26).unwrap_or(0));
        let extra_len = usize::from(u16_at(self.bytes, h + 28).unwrap_or(0));
        let data_start = h + 30 + name_len + extra_len;
        let data = usize::try_from(entry.compressed)
            .ok()
            .and_then(|c| self.bytes.get(data_start..data_start.checked_add(c)?))
            .ok_or_else(|| {
                corrupt(format!(
                    "{name} runs past the end of the file; the file is probably truncated"
                ))
            })?;
        let inner: Box<dyn Read + 'a> = match entry.method {
            0 => Box::new(data),
            8 => Box::new(DeflateDecoder::new(data)),
            m => {
                return Err(corrupt(format!(
                    "{name} uses compression method {m}, which only deflate and stored are read as"
                )));
            }
        };
        Ok(EntryReader {
            archive: self,
            entry: entry.clone(),
            inner,
            out: 0,
            crc: crc32fast::Hasher::new(),
            head: Vec::new(),
        })
    }

    /// The whole entry, for small parts (manifests, relationships, styles),
    /// refused when over `max` bytes.
    pub fn read_all(&self, name: &str, what: &str, max: u64) -> Result<Vec<u8>, SkipReason> {
        let mut out = Vec::new();
        let mut reader = self.reader(name, what)?.take(max + 1);
        if let Err(e) = reader.read_to_end(&mut out) {
            return Err(self.failure(format!("{name}: {e}")));
        }
        if out.len() as u64 > max {
            return Err(SkipReason::ArchiveBomb {
                detail: format!("{name} is over {max} bytes"),
            });
        }
        Ok(out)
    }

    /// The reason behind a read failure: a violation noticed while
    /// streaming, else damage described by `detail`.
    pub fn failure(&self, detail: String) -> SkipReason {
        self.problem
            .borrow_mut()
            .take()
            .unwrap_or_else(|| corrupt(detail))
    }

    fn fail(&self, reason: SkipReason) -> io::Error {
        let message = reason.to_string();
        self.problem.borrow_mut().get_or_insert(reason);
        io::Error::new(io::ErrorKind::InvalidData, message)
    }
}

/// Offset of the end-of-central-directory record, searched backwards over
/// the largest possible comment.
fn find_eocd(bytes: &[u8]) -> Option<usize> {
    let lowest = bytes.len().saturating_sub(22 + usize::from(u16::MAX));
    (lowest..=bytes.len().checked_sub(22)?)
        .rev()
        .find(|&i| u32_at(bytes, i) == Some(0x0605_4b50))
}

/// Offset of the zip64 end-of-central-directory record, when the locator
/// before the classic record names one.
fn zip64_eocd(bytes: &[u8], eocd: usize) -> Option<usize> {
    let locator = eocd.checked_sub(20)?;
    if u32_at(bytes, locator)? != 0x0706_4b50 {
        return None;
    }
    let at = usize::try_from(u64_at(bytes, locator + 8)?).ok()?;
    (u32_at(bytes, at)? == 0x0606_4b50).then_some(at)
}

fn read_directory(d: &[u8], count: u64) -> Result<Vec<Entry>, SkipReason> {
    let damaged = || corrupt("the zip directory is damaged");
    let mut entries = Vec::new();
    let mut at = 0usize;
    for _ in 0..count {
        if u32_at(d, at) != Some(0x0201_4b50) {
            return Err(damaged());
        }
        let field16 = |o: usize| u16_at(d, at + o).ok_or_else(damaged);
        let field32 = |o: usize| u32_at(d, at + o).ok_or_else(damaged);
        let (name_len, extra_len, comment_len) = (
            usize::from(field16(28)?),
            usize::from(field16(30)?),
            usize::from(field16(32)?),
        );
        let name_bytes = d.get(at + 46..at + 46 + name_len).ok_or_else(damaged)?;
        let extra = d
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or_else(damaged)?;
        let mut entry = Entry {
            name: String::from_utf8_lossy(name_bytes).into_owned(),
            method: field16(10)?,
            flags: field16(8)?,
            crc: field32(16)?,
            compressed: u64::from(field32(20)?),
            size: u64::from(field32(24)?),
            header_offset: u64::from(field32(42)?),
        };
        apply_zip64_extra(&mut entry, extra);
        entries.push(entry);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(entries)
}

/// Replaces the 32-bit sizes and offset saturated at `u32::MAX` by the
/// zip64 extra field's, in the order the format stores them.
fn apply_zip64_extra(entry: &mut Entry, extra: &[u8]) {
    let mut at = 0;
    while let (Some(id), Some(len)) = (u16_at(extra, at), u16_at(extra, at + 2)) {
        let len = usize::from(len);
        if id == 1 {
            let mut field = at + 4;
            for value in [
                &mut entry.size,
                &mut entry.compressed,
                &mut entry.header_offset,
            ] {
                if *value == u64::from(u32::MAX)
                    && field + 8 <= at + 4 + len
                    && let Some(v) = u64_at(extra, field)
                {
                    *value = v;
                    field += 8;
                }
            }
            return;
        }
        at += 4 + len;
    }
}

/// Streams one entry, counting what comes out against the limits and
/// checking size and CRC at the end.
pub(super) struct EntryReader<'r, 'a> {
    archive: &'r Archive<'a>,
    entry: Entry,
    inner: Box<dyn Read + 'a>,
    out: u64,
    crc: crc32fast::Hasher,
    /// The first bytes, to notice a nested zip.
    head: Vec<u8>,
}

impl Read for EntryReader<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let name = &self.entry.name;
                return Err(self
                    .archive
                    .fail(corrupt(format!("{name} does not inflate: {e}"))));
            }
        };
        let archive = self.archive;
        let limits = &archive.limits;
        let name = &self.entry.name;
        if n == 0 {
            if self.out != self.entry.size || self.crc.clone().finalize() != self.entry.crc {
                return Err(archive.fail(corrupt(format!("{name} fails its size or CRC check"))));
            }
            return Ok(0);
        }
        self.out += n as u64;
        self.crc.update(&buf[..n]);
        if self.head.len() < 4 {
            let want = (4 - self.head.len()).min(n);
            self.head.extend_from_slice(&buf[..want]);
            if self.head.len() == 4 && u32_at(&self.head, 0) == Some(LOCAL_SIG) {
                return Err(archive.fail(SkipReason::ArchiveBomb {
                    detail: format!(
                        "{name} is itself a zip archive; nested archives are not opened"
                    ),
                }));
            }
        }
        let total = archive.unpacked.get() + n as u64;
        archive.unpacked.set(total);
        if total > limits.max_unpacked_bytes {
            return Err(archive.fail(SkipReason::ArchiveBomb {
                detail: format!(
                    "over {} bytes unpacked (max_unpacked_bytes)",
                    limits.max_unpacked_bytes
                ),
            }));
        }
        let ratio = self.out / self.entry.compressed.max(1);
        if self.out > RATIO_FLOOR && ratio > limits.max_compression_ratio {
            return Err(archive.fail(SkipReason::ArchiveBomb {
                detail: format!(
                    "{name} inflates over {} times its size (max_compression_ratio)",
                    limits.max_compression_ratio
                ),
            }));
        }
        if self.out > self.entry.size {
            return Err(archive.fail(corrupt(format!("{name} is longer than its directory says"))));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::testdata::zip_of;
    use std::io::{Cursor, Write};

    fn read(archive: &Archive<'_>, name: &str) -> Result<Vec<u8>, SkipReason> {
        let mut out = Vec::new();
        archive
            .reader(name, "the part")?
            .read_to_end(&mut out)
            .map_err(|e| archive.failure(e.to_string()))?;
        Ok(out)
    }

    #[test]
    fn reads_deflated_and_stored_entries() {
        let mut w = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
        let stored = ::zip::write::SimpleFileOptions::default()
            .compression_method(::zip::CompressionMethod::Stored);
        w.start_file("mimetype", stored).unwrap();
        w.write_all(b"application/epub+zip").unwrap();
        let deflated = ::zip::write::SimpleFileOptions::default();
        w.start_file("a/b.xml", deflated).unwrap();
        w.write_all(&b"<x>hello</x>".repeat(100)).unwrap();
        let bytes = w.finish().unwrap().into_inner();
        let archive = Archive::open(&bytes, &IngestLimits::default()).unwrap();
        assert_eq!(read(&archive, "mimetype").unwrap(), b"application/epub+zip");
        assert_eq!(read(&archive, "A/B.xml").unwrap().len(), 1200);
        assert!(archive.contains("/a/b.xml"));
        let missing = archive
            .reader("word/document.xml", "the document body")
            .err()
            .unwrap();
        assert_eq!(missing.code(), "archive_corrupt");
        assert!(missing.to_string().contains("the document body"));
    }

    #[test]
    fn truncated_and_bit_flipped_archives_are_corrupt() {
        let bytes = zip_of(&[("doc.xml", "<p>some text</p>".repeat(50).as_bytes())]);
        for cut in [bytes.len() / 2, bytes.len() - 10, 10, 0] {
            let err = Archive::open(&bytes[..cut], &IngestLimits::default())
                .err()
                .unwrap();
            assert_eq!(err.code(), "archive_corrupt", "cut at {cut}");
        }
        // Flip a bit in the compressed data: inflating or the CRC check fails.
        for at in [40usize, 50, 60] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x10;
            let archive = Archive::open(&flipped, &IngestLimits::default()).unwrap();
            let err = read(&archive, "doc.xml").unwrap_err();
            assert_eq!(err.code(), "archive_corrupt", "flip at {at}: {err}");
        }
    }

    #[test]
    fn bombs_are_refused() {
        // 64 MiB of zeros deflate to about 64 KiB: a ratio near 1000.
        let zeros = vec![0u8; 64 * 1024 * 1024];
        let bytes = zip_of(&[("doc.xml", &zeros)]);
        let archive = Archive::open(&bytes, &IngestLimits::default()).unwrap();
        let err = read(&archive, "doc.xml").unwrap_err();
        assert_eq!(err.code(), "archive_bomb");
        assert!(err.to_string().contains("max_compression_ratio"), "{err}");

        // Many small entries add up past the total.
        let part = "<p>text</p>".repeat(1000);
        let names: Vec<String> = (0..20).map(|i| format!("p{i}.xml")).collect();
        let entries: Vec<(&str, &[u8])> = names
            .iter()
            .map(|n| (n.as_str(), part.as_bytes()))
            .collect();
        let bytes = zip_of(&entries);
        let tight = IngestLimits {
            max_unpacked_bytes: 100_000,
            ..IngestLimits::default()
        };
        let archive = Archive::open(&bytes, &tight).unwrap();
        let err = names.iter().find_map(|n| read(&archive, n).err()).unwrap();
        assert_eq!(err.code(), "archive_bomb");
        assert!(err.to_string().contains("max_unpacked_bytes"), "{err}");

        let few = IngestLimits {
            max_archive_entries: 10,
            ..IngestLimits::default()
        };
        let err = Archive::open(&bytes, &few).err().unwrap();
        assert_eq!(err.code(), "archive_bomb");
        assert!(err.to_string().contains("max_archive_entries"), "{err}");

        let inner = zip_of(&[("x.xml", b"<x/>")]);
        let nested = zip_of(&[("doc.xml", &inner)]);
        let archive = Archive::open(&nested, &IngestLimits::default()).unwrap();
        let err = read(&archive, "doc.xml").unwrap_err();
        assert_eq!(err.code(), "archive_bomb");
        assert!(err.to_string().contains("nested"), "{err}");
    }
}
