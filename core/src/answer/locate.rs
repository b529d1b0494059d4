//! Where a span of a passage sits in its document: lines for text files and
//! notes, the page for PDFs, so a host can open the source at the quote.

use std::ops::Range;

use crate::search::Hit;

/// Char offsets (not bytes) of a byte range of `text`: what hosts index by.
pub(crate) fn char_range(text: &str, range: &Range<usize>) -> (usize, usize) {
    let start = text[..range.start].chars().count();
    (start, start + text[range.clone()].chars().count())
}

/// The 1-based inclusive lines of `range` (bytes of `hit.text`) in the
/// document, or `None` where the document has no lines (PDF).
///
/// A chunk joins its blocks with one blank line, while the file may have
/// headings or more blank lines between them; so the chunk's lines are
/// matched against the file's own lines in the chunk's range when the file
/// can be read, and counted from the chunk's first line otherwise (exact
/// within one block, and for text handed over by the host).
pub(crate) fn lines(hit: &Hit, range: &Range<usize>) -> Option<(u32, u32)> {
    let crate::search::LineRange { first, last } = hit.lines?;
    let start_line = hit.text[..range.start].matches('\n').count();
    let end_line = start_line + hit.text[range.clone()].trim_end().matches('\n').count();
    let source = hit
        .path
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok());
    if let Some(source) = source
        && let Some(map) = align(&hit.text, &source, first, last)
        && let (Some(&a), Some(&b)) = (map.get(start_line), map.get(end_line))
    {
        return Some((a, b.max(a)));
    }
    let a = first + start_line as u32;
    Some((
        a.min(last),
        (first + end_line as u32).min(last).max(a.min(last)),
    ))
}

/// For each line of `chunk`, the 1-based line of `source` holding it, found
/// in order within `first..=last`; `None` unless every non-blank chunk line
/// is found (the file changed since it was indexed).
fn align(chunk: &str, source: &str, first: u32, last: u32) -> Option<Vec<u32>> {
    let lines: Vec<&str> = source.lines().collect();
    let window = lines.get((first as usize).saturating_sub(1)..(last as usize).min(lines.len()))?;
    let mut cursor: usize = 0;
    let mut map = Vec::new();
    for line in chunk.split('\n') {
        let wanted = line.trim();
        if wanted.is_empty() {
            // A blank joint: it belongs to the line before it.
            map.push(first + cursor.saturating_sub(1) as u32);
            continue;
        }
        let found = window[cursor..].iter().position(|l| l.trim() == wanted)?;
        cursor += found + 1;
        map.push(first + cursor as u32 - 1);
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(text: &str, lines: (u32, u32), path: Option<String>) -> Hit {
        Hit {
            chunk_id: 1,
            document_id: "d".into(),
            path,
            title: "T".into(),
            text: text.into(),
            score: 1.0,
            page: None,
            lines: Some(lines.into()),
            locator: None,
            heading_path: Vec::new(),
            tags: Vec::new(),
            embedded: true,
        }
    }

    #[test]
    fn lines_follow_the_file_across_headings_between_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.md");
        std::fs::write(
            &path,
            "# A\n\nfirst block\nstill first\n\n## B\n\nsecond block.\n",
        )
        .unwrap();
        let text = "first block\nstill first\n\nsecond block.";
        let h = hit(text, (3, 8), Some(path.to_string_lossy().into_owned()));
        let at = text.find("second").unwrap();
        assert_eq!(lines(&h, &(at..text.len())), Some((8, 8)));
        assert_eq!(
            lines(&h, &(0..text.find("still").unwrap() + 5)),
            Some((3, 4))
        );
        // Without the file, lines are counted from the chunk's start.
        let h = hit(text, (3, 8), None);
        assert_eq!(lines(&h, &(at..text.len())), Some((6, 6)));
    }

    #[test]
    fn char_ranges_count_characters() {
        let text = "Café au lait. Next.";
        let at = text.find("Next").unwrap();
        assert_eq!(char_range(text, &(at..text.len())), (14, 19));
    }
}
