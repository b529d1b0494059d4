//! CID → Unicode for Adobe's CJK character collections (Japan1, GB1, CNS1,
//! Korea1): CJK fonts without a ToUnicode map still name each glyph by its
//! CID in one of these. The table is the inverse of Adobe's Unicode CMaps
//! (BSD-3-Clause, see cid2unicode.NOTICE), built by
//! scripts/gen_cid2unicode.py and inflated on first use (~0.5 MB).

use std::io::Read;
use std::sync::OnceLock;

static DATA: &[u8] = include_bytes!("cid2unicode.bin");

/// One collection's runs: (first CID, first code point, length).
type Runs = Vec<(u32, u32, u32)>;

/// The collection a CIDFont's `/CIDSystemInfo` names, as an index into the
/// table (`None` for other collections, such as Identity).
pub(super) fn collection(registry: &[u8], ordering: &[u8]) -> Option<usize> {
    if registry != b"Adobe" {
        return None;
    }
    let name = String::from_utf8_lossy(ordering);
    tables().iter().position(|(n, _)| *n == name)
}

/// The character of `cid` in collection `index`.
pub(super) fn char_of(index: usize, cid: u32) -> Option<char> {
    let runs = &tables().get(index)?.1;
    let i = runs.partition_point(|r| r.0 <= cid).checked_sub(1)?;
    let (first, code, len) = runs[i];
    (cid < first + len).then(|| char::from_u32(code + (cid - first)))?
}

fn tables() -> &'static [(String, Runs)] {
    static TABLES: OnceLock<Vec<(String, Runs)>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut raw = Vec::new();
        if flate2::read::ZlibDecoder::new(DATA)
            .read_to_end(&mut raw)
            .is_err()
        {
            return Vec::new();
        }
        decode(&raw).unwrap_or_default()
    })
}

fn decode(mut data: &[u8]) -> Option<Vec<(String, Runs)>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = data.split_first() {
        let (name, rest) = rest.split_at_checked(len as usize)?;
        let (count, rest) = rest.split_at_checked(4)?;
        data = rest;
        let count = u32::from_le_bytes(count.try_into().ok()?);
        let mut runs = Vec::with_capacity(count as usize);
        let (mut end, mut code) = (0u32, 0i64);
        for _ in 0..count {
            let gap = varint(&mut data)?;
            let delta = varint(&mut data)?;
            let len = varint(&mut data)? + 1;
            let delta = if delta & 1 == 0 {
                (delta >> 1) as i64
            } else {
                -(((delta + 1) >> 1) as i64)
            };
            let first = end + gap;
            code += delta;
            runs.push((first, u32::try_from(code).ok()?, len));
            end = first + len;
        }
        out.push((String::from_utf8_lossy(name).into_owned(), runs));
    }
    Some(out)
}

fn varint(data: &mut &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for shift in (0..35).step_by(7) {
        let (&b, rest) = data.split_first()?;
        *data = rest;
        v |= u32::from(b & 0x7F) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_cids_of_each_collection() {
        let japan = collection(b"Adobe", b"Japan1").unwrap();
        // CID 843 is HIRAGANA LETTER A in Adobe-Japan1; CID 34 is "A".
        assert_eq!(char_of(japan, 843), Some('あ'));
        assert_eq!(char_of(japan, 34), Some('A'));
        let gb = collection(b"Adobe", b"GB1").unwrap();
        assert_eq!(char_of(gb, 34), Some('A'));
        assert!(collection(b"Adobe", b"CNS1").is_some());
        assert!(collection(b"Adobe", b"Korea1").is_some());
        assert_eq!(collection(b"Adobe", b"Identity"), None);
        assert_eq!(char_of(japan, 999_999), None);
    }
}
