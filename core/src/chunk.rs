//! Structure- and token-aware chunking.
//!
//! Blocks (paragraphs, lists, code) are packed into chunks under one heading
//! path until the target size; a block too large for one chunk is split at
//! sentence ends, and a sentence too large at word boundaries. Sizes are
//! counted with the embedding model's own tokenizer, including the title and
//! heading prefix that is embedded with each chunk, so no chunk is ever cut
//! by the model's input limit.

use unicode_segmentation::UnicodeSegmentation;

use crate::ingest::{Block, Locator, ParsedDocument};

/// How documents are cut into chunks.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkingOptions {
    /// Fill chunks up to about this many model tokens, prefix included; the
    /// embedding model's input limit (256 for MiniLM) caps it. Measured best
    /// at the limit on both eval sets (README).
    pub target_tokens: usize,
    /// Embed `title › headings` before each chunk's text (measured to help; see README).
    pub contextual_prefix: bool,
}

impl Default for ChunkingOptions {
    fn default() -> Self {
        ChunkingOptions {
            target_tokens: 256,
            contextual_prefix: true,
        }
    }
}

/// One retrievable unit of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub ordinal: usize,
    /// Text shown to users and the answer model.
    pub text: String,
    /// Text given to the embedding model (prefix + text).
    pub embed_text: String,
    pub char_start: usize,
    pub char_end: usize,
    pub lines: Option<(u32, u32)>,
    pub page: Option<u32>,
    /// Chapter and paragraphs (HTML, DOCX, ODT, EPUB, canvas).
    pub locator: Option<Locator>,
    pub heading_path: Vec<String>,
}

/// A piece of a block small enough to fit one chunk.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    char_start: usize,
    char_end: usize,
    lines: Option<(u32, u32)>,
    page: Option<u32>,
    locator: Option<Locator>,
    heading_path: Vec<String>,
    tokens: usize,
}

/// Cuts `doc` into chunks. `count` returns the model's token count of a text,
/// special tokens included; `max_tokens` is the model's input limit.
pub fn chunk_document(
    doc: &ParsedDocument,
    options: &ChunkingOptions,
    max_tokens: usize,
    count: &dyn Fn(&str) -> usize,
) -> Vec<Chunk> {
    let specials = count("");
    let mut chunks: Vec<Chunk> = Vec::new();
    let mut current: Vec<Piece> = Vec::new();
    let mut current_tokens = 0;

    for block in &doc.blocks {
        let prefix = prefix_for(&doc.title, &block.heading_path, options);
        let prefix_tokens = count(&prefix).saturating_sub(specials);
        // Room for text: the model limit minus prefix, and the target size.
        let limit = max_tokens.saturating_sub(prefix_tokens).max(specials + 8);
        let budget = options.target_tokens.min(limit).max(specials + 8);
        for piece in split_block(block, budget, count) {
            // Sections start new chunks, unless the open chunk is still small:
            // a short section then shares a chunk with the next one.
            // Nor does a chunk span pages, chapters or canvas cards, so
            // its citation names one place.
            let joins = current.last().is_some_and(|last| {
                last.page == piece.page
                    && same_part(&last.locator, &piece.locator)
                    && (last.heading_path == piece.heading_path || current_tokens < budget / 2)
            });
            let fits = current_tokens + piece.tokens.saturating_sub(specials) <= budget;
            if !(current.is_empty() || joins && fits) {
                flush(doc, options, &mut current, &mut chunks, max_tokens, count);
                current_tokens = 0;
            }
            if current.is_empty() {
                current_tokens = specials;
            }
            current_tokens += piece.tokens.saturating_sub(specials);
            current.push(piece);
        }
    }
    flush(doc, options, &mut current, &mut chunks, max_tokens, count);
    chunks
}

/// Whether two locators are in one chapter and part (their paragraphs may differ).
fn same_part(a: &Option<Locator>, b: &Option<Locator>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.chapter == b.chapter && a.part == b.part,
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// The context embedded before a chunk: title and heading path.
fn prefix_for(title: &str, headings: &[String], options: &ChunkingOptions) -> String {
    if !options.contextual_prefix {
        return String::new();
    }
    let mut prefix = title.trim().to_string();
    for heading in headings {
        if heading.trim() != prefix {
            if !prefix.is_empty() {
                prefix.push_str(" › ");
            }
            prefix.push_str(heading.trim());
        }
    }
    if !prefix.is_empty() {
        prefix.push_str("\n\n");
    }
    prefix
}

/// The text embedded for a chunk: its context prefix, then its text.
pub(crate) fn embed_text(
    title: &str,
    headings: &[String],
    text: &str,
    options: &ChunkingOptions,
) -> String {
    format!("{}{text}", prefix_for(title, headings, options))
}

/// Turns the pieces gathered so far into one chunk. Token counts of pieces
/// add up almost exactly; the final check against the model limit catches the
/// rest by splitting the chunk in two.
fn flush(
    doc: &ParsedDocument,
    options: &ChunkingOptions,
    pieces: &mut Vec<Piece>,
    chunks: &mut Vec<Chunk>,
    max_tokens: usize,
    count: &dyn Fn(&str) -> usize,
) {
    if pieces.is_empty() {
        return;
    }
    let taken = std::mem::take(pieces);
    let chunk = assemble(doc, options, &taken, chunks.len());
    if count(&chunk.embed_text) > max_tokens && taken.len() > 1 {
        let (head, tail) = taken.split_at(taken.len() / 2);
        for half in [head, tail] {
            let mut half = half.to_vec();
            flush(doc, options, &mut half, chunks, max_tokens, count);
        }
        return;
    }
    chunks.push(chunk);
}

fn assemble(
    doc: &ParsedDocument,
    options: &ChunkingOptions,
    pieces: &[Piece],
    ordinal: usize,
) -> Chunk {
    let first = &pieces[0];
    let last = &pieces[pieces.len() - 1];
    let text = pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join("\n\n");
    let lines = match (first.lines, last.lines) {
        (Some((a, _)), Some((_, b))) => Some((a, b)),
        _ => None,
    };
    let locator = match (&first.locator, &last.locator) {
        (Some(a), Some(b)) => Some(Locator {
            last_paragraph: b.last_paragraph,
            ..a.clone()
        }),
        _ => None,
    };
    // The headings all pieces share: a chunk spanning two sections sits under their parent.
    let mut heading_path = first.heading_path.clone();
    for piece in &pieces[1..] {
        let common = heading_path
            .iter()
            .zip(&piece.heading_path)
            .take_while(|(a, b)| a == b)
            .count();
        heading_path.truncate(common);
    }
    Chunk {
        ordinal,
        embed_text: embed_text(&doc.title, &heading_path, &text, options),
        text,
        char_start: first.char_start,
        char_end: last.char_end,
        lines,
        page: first.page,
        locator,
        heading_path,
    }
}

/// Splits a block into pieces of at most `budget` tokens: whole if it fits,
/// else at sentence ends, else at word boundaries.
fn split_block(block: &Block, budget: usize, count: &dyn Fn(&str) -> usize) -> Vec<Piece> {
    let tokens = count(&block.text);
    if tokens <= budget {
        return vec![piece(block, 0, block.text.len(), tokens)];
    }
    let mut pieces = Vec::new();
    let mut start = 0; // byte offset in block.text where the open piece starts
    let mut end = 0; // byte offset of the end of the last sentence that fits
    for sentence_end in sentence_ends(&block.text) {
        let candidate = block.text[start..sentence_end].trim();
        let tokens = count(candidate);
        if tokens <= budget {
            end = sentence_end;
            continue;
        }
        if end > start {
            pieces.push(measured_piece(block, start, end, count));
            start = skip_space(&block.text, end);
        }
        // The sentence alone may still be too long: cut it at words.
        if count(block.text[start..sentence_end].trim()) > budget {
            start = split_words(block, start, sentence_end, budget, count, &mut pieces);
        }
        end = sentence_end;
    }
    if start < block.text.len() && !block.text[start..].trim().is_empty() {
        pieces.push(measured_piece(block, start, block.text.len(), count));
    }
    pieces
}

/// Emits word-bounded pieces of `block.text[start..end]` that fit `budget`;
/// returns where the unfinished remainder starts.
fn split_words(
    block: &Block,
    mut start: usize,
    end: usize,
    budget: usize,
    count: &dyn Fn(&str) -> usize,
    pieces: &mut Vec<Piece>,
) -> usize {
    loop {
        let bounds: Vec<usize> = word_ends(&block.text[start..end])
            .into_iter()
            .map(|b| start + b)
            .collect();
        // Largest prefix of words that fits, by binary search over word ends.
        let (mut lo, mut hi) = (0usize, bounds.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if count(block.text[start..bounds[mid - 1]].trim()) <= budget {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if lo == bounds.len() {
            return start; // the rest fits and stays open
        }
        // A single word longer than the budget (a CJK sentence, a URL): cut
        // it at the last word or grapheme boundary that fits.
        let cut = if lo == 0 {
            boundary_cut(&block.text[start..end], budget, count) + start
        } else {
            bounds[lo - 1]
        };
        pieces.push(measured_piece(block, start, cut, count));
        start = skip_space(&block.text, cut);
        if start >= end {
            return start;
        }
    }
}

/// Byte length of the longest prefix of `text` within `budget` tokens that
/// ends at a word boundary (UAX #29: between ideographs, at punctuation of a
/// URL), else at a grapheme boundary; never inside a grapheme cluster, so a
/// single grapheme longer than the budget stays whole.
fn boundary_cut(text: &str, budget: usize, count: &dyn Fn(&str) -> usize) -> usize {
    let words: Vec<usize> = text
        .split_word_bound_indices()
        .map(|(i, w)| i + w.len())
        .collect();
    let graphemes: Vec<usize> = text
        .grapheme_indices(true)
        .map(|(i, g)| i + g.len())
        .collect();
    for ends in [words, graphemes] {
        let fitting = longest_fitting(text, &ends, budget, count);
        if fitting > 0 {
            return ends[fitting - 1];
        }
    }
    text.grapheme_indices(true)
        .next()
        .map_or(text.len(), |(_, g)| g.len())
}

/// How many of the prefixes `text[..ends[i]]` (ascending) fit `budget`.
fn longest_fitting(
    text: &str,
    ends: &[usize],
    budget: usize,
    count: &dyn Fn(&str) -> usize,
) -> usize {
    let (mut lo, mut hi) = (0usize, ends.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count(text[..ends[mid - 1]].trim()) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

fn measured_piece(block: &Block, start: usize, end: usize, count: &dyn Fn(&str) -> usize) -> Piece {
    let tokens = count(block.text[start..end].trim());
    piece(block, start, end, tokens)
}

/// The piece of `block` at bytes `start..end` (trimmed), with exact char and line ranges.
fn piece(block: &Block, start: usize, end: usize, tokens: usize) -> Piece {
    let raw = &block.text[start..end];
    let lead = raw.len() - raw.trim_start().len();
    let text = raw.trim();
    let start = start + lead;
    let char_start = block.char_start + block.text[..start].chars().count();
    let char_end = char_start + text.chars().count();
    let lines = block.lines.map(|(first, _)| {
        let a = first + block.text[..start].matches('\n').count() as u32;
        let b = a + text.matches('\n').count() as u32;
        (a, b)
    });
    Piece {
        text: text.to_string(),
        char_start,
        char_end,
        lines,
        page: block.page,
        locator: block.locator.clone(),
        heading_path: block.heading_path.clone(),
        tokens,
    }
}

fn skip_space(text: &str, at: usize) -> usize {
    at + (text[at..].len() - text[at..].trim_start().len())
}

/// Byte offsets just after each sentence end, and the end of the text. A
/// sentence ends at `.`, `!`, `?`, a danda, an Arabic or Ethiopic full stop
/// or a line break, each followed by white space, and after CJK full-width
/// terminals (`。！？．｡`) with any closing quotes or brackets after them,
/// since CJK text puts no space after a sentence.
fn sentence_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if matches!(c, '。' | '！' | '？' | '．' | '｡') {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = chars
                .peek()
                .filter(|(_, n)| is_closing(*n) || is_cjk_terminal(*n))
            {
                end = j + n.len_utf8();
                chars.next();
            }
            ends.push(end);
            continue;
        }
        let boundary = matches!(
            c,
            '.' | '!' | '?' | '\n' | '।' | '॥' | '؟' | '۔' | '።' | '။'
        );
        if boundary && chars.peek().is_some_and(|(_, n)| n.is_whitespace()) {
            ends.push(i + c.len_utf8());
        }
    }
    if ends.last() != Some(&text.len()) {
        ends.push(text.len());
    }
    ends
}

fn is_cjk_terminal(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '．' | '｡')
}

/// Closing quotes and brackets that belong to the sentence before them.
fn is_closing(c: char) -> bool {
    matches!(
        c,
        '」' | '』'
            | '）'
            | '】'
            | '〕'
            | '〉'
            | '》'
            | '〗'
            | '〙'
            | '〛'
            | '］'
            | '｝'
            | '＂'
            | '＇'
            | '”'
            | '’'
            | '"'
            | '\''
            | ')'
            | '｣'
    )
}

/// Byte offsets just after each word of `text`.
fn word_ends(text: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut in_word = false;
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            if in_word {
                ends.push(i);
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    if in_word {
        ends.push(text.len());
    }
    ends
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::ingest::SourceKind;

    fn words(text: &str) -> usize {
        text.split_whitespace().count() + 2
    }

    fn block(text: &str, headings: &[&str], first_line: u32) -> Block {
        Block {
            text: text.into(),
            heading_path: headings.iter().map(|h| h.to_string()).collect(),
            char_start: 0,
            char_end: text.chars().count(),
            lines: Some((first_line, first_line + text.matches('\n').count() as u32)),
            page: None,
            locator: None,
        }
    }

    fn doc(blocks: Vec<Block>) -> ParsedDocument {
        ParsedDocument {
            kind: SourceKind::Markdown,
            title: "Doc".into(),
            tags: vec![],
            metadata: Default::default(),
            blocks,
            ..ParsedDocument::default()
        }
    }

    fn opts(target: usize) -> ChunkingOptions {
        ChunkingOptions {
            target_tokens: target,
            contextual_prefix: true,
        }
    }

    #[test]
    fn packs_blocks_under_one_heading_and_starts_sections_anew() {
        let d = doc(vec![
            block("one two three four five six", &["A"], 3),
            block("seven eight", &["A"], 5),
            block("nine", &["B"], 7),
        ]);
        let chunks = chunk_document(&d, &opts(20), 64, &words);
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[0].text, "one two three four five six\n\nseven eight");
        assert_eq!(chunks[0].lines, Some((3, 5)));
        assert_eq!(
            chunks[0].embed_text,
            "Doc › A\n\none two three four five six\n\nseven eight"
        );
        assert_eq!(chunks[1].heading_path, vec!["B".to_string()]);
        assert_eq!(chunks[1].ordinal, 1);
    }

    #[test]
    fn chunks_keep_to_one_chapter_and_span_its_paragraphs() {
        let located = |text: &str, chapter: u32, paragraphs: (u32, u32)| Block {
            lines: None,
            locator: Some(Locator {
                chapter: Some(chapter),
                part: Some(format!("ch{chapter}.xhtml")),
                first_paragraph: paragraphs.0,
                last_paragraph: paragraphs.1,
            }),
            ..block(text, &[], 1)
        };
        let d = doc(vec![
            located("one two", 1, (1, 1)),
            located("three four", 1, (2, 3)),
            located("five", 2, (1, 1)),
        ]);
        let chunks = chunk_document(&d, &opts(60), 64, &words);
        let places: Vec<String> = chunks
            .iter()
            .map(|c| c.locator.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(places, ["chapter 1, ¶ 1–3", "chapter 2, ¶ 1"]);
        assert_eq!(
            chunks[1].locator.as_ref().unwrap().part.as_deref(),
            Some("ch2.xhtml")
        );
    }

    #[test]
    fn a_short_section_shares_a_chunk_under_the_common_heading() {
        let d = doc(vec![
            block("tiny", &["Top", "A"], 1),
            block("also small", &["Top", "B"], 3),
        ]);
        let chunks = chunk_document(&d, &opts(20), 64, &words);
        assert_eq!(chunks.len(), 1);
        assert_eq!(chunks[0].heading_path, vec!["Top".to_string()]);
        assert_eq!(chunks[0].embed_text, "Doc › Top\n\ntiny\n\nalso small");
    }

    #[test]
    fn splits_long_blocks_at_sentences_then_words_within_the_limit() {
        let sentence = "alpha beta gamma delta. ";
        let long_sentence = (0..40)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        let text = format!("{}{}.", sentence.repeat(6), long_sentence);
        let d = doc(vec![block(&text, &[], 1)]);
        let max = 16;
        let chunks = chunk_document(&d, &opts(12), max, &words);
        assert!(chunks.len() > 3);
        for c in &chunks {
            assert!(words(&c.embed_text) <= max, "{:?}", c.embed_text);
            assert!(!c.text.is_empty());
        }
        // Nothing lost: all words are still there, in order.
        let joined: Vec<&str> = chunks
            .iter()
            .flat_map(|c| c.text.split_whitespace())
            .collect();
        let original: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(joined, original);
    }

    #[test]
    fn char_ranges_point_at_the_chunk_text() {
        let text = "First sentence here. Second sentence is here.\nThird one follows now.";
        let mut b = block(text, &[], 10);
        b.char_start = 100;
        let d = doc(vec![b]);
        let chunks = chunk_document(&d, &opts(6), 64, &words);
        for c in &chunks {
            let start = c.char_start - 100;
            let slice: String = text
                .chars()
                .skip(start)
                .take(c.char_end - c.char_start)
                .collect();
            assert_eq!(slice, c.text);
        }
        assert_eq!(chunks.last().unwrap().lines, Some((11, 11)));
    }

    #[test]
    fn a_giant_word_is_cut_by_characters() {
        let text = "x".repeat(500);
        let per_char = |t: &str| t.chars().count() / 10 + 2;
        let d = doc(vec![block(&text, &[], 1)]);
        let chunks = chunk_document(&d, &opts(20), 30, &per_char);
        assert!(chunks.len() >= 3);
        assert!(chunks.iter().all(|c| per_char(&c.embed_text) <= 30));
        assert_eq!(chunks.iter().map(|c| c.text.len()).sum::<usize>(), 500);
    }

    /// One token per character, as a CJK-heavy tokenizer roughly counts.
    fn chars(text: &str) -> usize {
        text.chars().count() + 2
    }

    #[test]
    fn cjk_sentences_end_at_full_width_terminals_without_spaces() {
        let text = "これはペンです。「本当？」はい！次の文．終わり";
        let ends: Vec<&str> = {
            let mut start = 0;
            sentence_ends(text)
                .into_iter()
                .map(|end| {
                    let s = &text[start..end];
                    start = end;
                    s
                })
                .collect()
        };
        assert_eq!(
            ends,
            [
                "これはペンです。",
                "「本当？」",
                "はい！",
                "次の文．",
                "終わり"
            ]
        );
        // English is split as before: only before white space.
        assert_eq!(sentence_ends("v1.2 is out. Next"), vec![12, 17]);
    }

    #[test]
    fn cjk_text_is_chunked_at_sentences_and_nothing_is_lost() {
        let sentence = "日本語の文章を分割します。";
        let text = sentence.repeat(12);
        let d = doc(vec![block(&text, &[], 1)]);
        let chunks = chunk_document(&d, &opts(40), 64, &chars);
        assert!(chunks.len() > 2);
        for c in &chunks {
            assert!(chars(&c.embed_text) <= 64, "{:?}", c.embed_text);
            assert!(
                c.text.ends_with('。'),
                "cut inside a sentence: {:?}",
                c.text
            );
        }
        let joined: String = chunks.iter().map(|c| c.text.replace("\n\n", "")).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn a_long_unspaced_sentence_is_cut_between_words_never_inside_a_grapheme() {
        // Katakana words (one UAX #29 word each), an emoji ZWJ sequence and a
        // decomposed accent, with no space or terminal anywhere.
        let family = "👨\u{200D}👩\u{200D}👧";
        let unit = format!("データベース{family}e\u{301}サーバー");
        let text = unit.repeat(20);
        let d = doc(vec![block(&text, &[], 1)]);
        let chunks = chunk_document(&d, &opts(30), 40, &chars);
        assert!(chunks.len() > 3);
        let joined: String = chunks.iter().map(|c| c.text.replace("\n\n", "")).collect();
        assert_eq!(joined, text);
        let words: HashSet<usize> = text.split_word_bound_indices().map(|(i, _)| i).collect();
        for c in &chunks[..chunks.len() - 1] {
            let at = text
                .char_indices()
                .nth(c.char_end)
                .map_or(text.len(), |(i, _)| i);
            assert!(
                words.contains(&at),
                "cut inside a word at byte {at}: {:?}",
                c.text
            );
            assert!(chars(&c.embed_text) <= 40);
        }
    }

    #[test]
    fn a_grapheme_longer_than_the_budget_stays_whole() {
        // "Zalgo": one letter with 300 combining marks is one grapheme.
        let zalgo = format!("a{}", "\u{301}".repeat(300));
        let text = format!("{zalgo}b");
        let d = doc(vec![block(&text, &[], 1)]);
        let chunks = chunk_document(&d, &opts(20), 30, &chars);
        assert_eq!(chunks[0].text, zalgo);
        assert_eq!(
            chunks.iter().map(|c| c.text.as_str()).collect::<String>(),
            text
        );
        assert_eq!(chunks.len(), 2);
    }

    #[test]
    fn hard_text_is_chunked_whole_with_exact_ranges() {
        // Mixed scripts in one word, RTL with bidi marks, emoji sequences,
        // combining marks, CJK punctuation only: all kept, ranges exact.
        let text = "Moskва Wi-Fi接続 \u{202B}שָׁלוֹם\u{202C} مرحبا👨\u{200D}👩\u{200D}👧🇫🇷 e\u{301}\u{308} 。。！？「」\n\n\u{301}lone";
        let mut b = block(text, &[], 1);
        b.char_start = 7;
        let d = doc(vec![b]);
        for budget in [3, 5, 8, 200] {
            let chunks = chunk_document(&d, &opts(budget), budget + 4, &chars);
            let joined: String = chunks.iter().map(|c| c.text.replace("\n\n", "")).collect();
            let original: String = text.split_whitespace().collect();
            assert_eq!(joined.split_whitespace().collect::<String>(), original);
            for c in &chunks {
                let slice: String = text
                    .chars()
                    .skip(c.char_start - 7)
                    .take(c.char_end - c.char_start)
                    .filter(|c| !c.is_whitespace())
                    .collect();
                let own: String = c.text.chars().filter(|c| !c.is_whitespace()).collect();
                assert_eq!(slice, own);
            }
        }
    }
}
