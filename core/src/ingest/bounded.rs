//! Keeps every block small enough for the later stages: a block longer than
//! [`MAX_BLOCK_CHARS`] (a 200 MB single-line log, a minified page) is cut at
//! a paragraph break, line break, sentence end or space near the limit. The
//! chunker then never tokenizes more than one such piece at once, so memory
//! stays proportional to the file, never to the square of a line.

use super::Block;

/// Longest block kept whole: far above real paragraphs (a long paragraph is
/// 2–5k characters), small enough that counting its tokens is cheap.
pub const MAX_BLOCK_CHARS: usize = 16 * 1024;

/// Replaces each over-long block by consecutive pieces with the same
/// headings and locator and exact char and line ranges.
pub(super) fn split_long_blocks(blocks: &mut Vec<Block>) {
    // Byte length bounds char length: most documents return here.
    if blocks.iter().all(|b| b.text.len() <= MAX_BLOCK_CHARS) {
        return;
    }
    let old = std::mem::take(blocks);
    for block in old {
        if block.text.len() <= MAX_BLOCK_CHARS || block.text.chars().count() <= MAX_BLOCK_CHARS {
            blocks.push(block);
        } else {
            cut(&block, blocks);
        }
    }
}

fn cut(block: &Block, out: &mut Vec<Block>) {
    let text = block.text.as_str();
    let mut start = 0; // byte offset of the open piece
    let mut chars_before = 0; // chars of text[..start]
    let mut lines_before = 0; // newlines in text[..start]
    while start < text.len() {
        let rest = &text[start..];
        let end = match rest.char_indices().nth(MAX_BLOCK_CHARS) {
            None => text.len(),
            Some((limit, _)) => start + cut_point(&rest[..limit]),
        };
        let piece = &text[start..end];
        let trimmed = piece.trim_end();
        if !trimmed.is_empty() {
            let chars = trimmed.chars().count();
            out.push(Block {
                text: trimmed.to_string(),
                heading_path: block.heading_path.clone(),
                char_start: block.char_start + chars_before,
                char_end: block.char_start + chars_before + chars,
                lines: block.lines.map(|(first, _)| {
                    let a = first + lines_before;
                    (a, a + trimmed.matches('\n').count() as u32)
                }),
                page: block.page,
                locator: block.locator.clone(),
            });
        }
        // Skip the whitespace after the cut: the next piece starts at a word.
        let next = end + (text[end..].len() - text[end..].trim_start().len());
        chars_before += text[start..next].chars().count();
        lines_before += text[start..next].matches('\n').count() as u32;
        start = next;
    }
}

/// Where to end a piece of at most `window` bytes: after the last paragraph
/// break, else line break, else sentence end, else space in its last
/// quarter; else the whole window (a run of letters without spaces).
fn cut_point(window: &str) -> usize {
    let floor = window.len() * 3 / 4;
    let tail = |at: Option<usize>| at.filter(|&i| i >= floor);
    tail(window.rfind("\n\n"))
        .or_else(|| tail(window.rfind('\n')))
        .or_else(|| tail(window.rfind(". ").map(|i| i + 1)))
        .or_else(|| tail(window.rfind(char::is_whitespace)))
        .filter(|&i| i > 0)
        .unwrap_or(window.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(text: &str) -> Block {
        Block {
            text: text.to_string(),
            heading_path: vec!["H".into()],
            char_start: 10,
            char_end: 10 + text.chars().count(),
            lines: Some((3, 3 + text.matches('\n').count() as u32)),
            page: None,
            locator: None,
        }
    }

    /// Pieces cover the text in order, each at most the limit, with char and
    /// line ranges that match the original.
    fn check(original: &Block, pieces: &[Block]) {
        let chars: Vec<char> = original.text.chars().collect();
        for p in pieces {
            assert!(p.text.chars().count() <= MAX_BLOCK_CHARS);
            let at: String = chars[p.char_start - 10..p.char_end - 10].iter().collect();
            assert_eq!(at, p.text);
            let before: String = chars[..p.char_start - 10].iter().collect();
            let first = 3 + before.matches('\n').count() as u32;
            assert_eq!(
                p.lines,
                Some((first, first + p.text.matches('\n').count() as u32))
            );
            assert_eq!(p.heading_path, ["H"]);
        }
        let joined: String = pieces.iter().map(|p| p.text.as_str()).collect();
        let letters = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(letters(&joined), letters(&original.text));
    }

    #[test]
    fn short_blocks_are_untouched() {
        let mut blocks = vec![block("short"), block(&"é".repeat(MAX_BLOCK_CHARS))];
        let before = blocks.clone();
        split_long_blocks(&mut blocks);
        assert_eq!(blocks, before);
    }

    #[test]
    fn one_long_line_is_cut_at_spaces() {
        let original = block(&"wörd ".repeat(10_000));
        let mut blocks = vec![original.clone()];
        split_long_blocks(&mut blocks);
        assert_eq!(blocks.len(), 4);
        check(&original, &blocks);
    }

    #[test]
    fn lines_and_paragraphs_are_preferred_cut_points() {
        let para = "a sentence here. ".repeat(50) + "\n";
        let original = block(&para.repeat(100));
        let mut blocks = vec![original.clone()];
        split_long_blocks(&mut blocks);
        assert!(blocks.len() > 1);
        assert!(blocks.iter().all(|b| b.text.ends_with("here.")));
        check(&original, &blocks);
    }

    #[test]
    fn a_run_without_spaces_is_cut_at_the_limit() {
        let original = block(&"x".repeat(MAX_BLOCK_CHARS * 2 + 5));
        let mut blocks = vec![original.clone()];
        split_long_blocks(&mut blocks);
        let sizes: Vec<usize> = blocks.iter().map(|b| b.text.len()).collect();
        assert_eq!(sizes, [MAX_BLOCK_CHARS, MAX_BLOCK_CHARS, 5]);
        check(&original, &blocks);
    }
}
