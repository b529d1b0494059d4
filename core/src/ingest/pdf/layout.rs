//! Placed glyphs → page text: lines from baselines, word spaces from gaps,
//! paragraphs from vertical gaps, right-to-left runs put in reading order,
//! words hyphenated at a line end joined again, duplicate glyphs (fake bold)
//! dropped. Works in each glyph's own writing direction, so rotated and
//! vertical (CJK) text read the same way.

use std::borrow::Cow;

/// A glyph with text, as the interpreter placed it (device space).
#[derive(Debug, Clone, Copy)]
pub(super) struct Placed {
    /// Byte range of its text in the page's text buffer.
    pub(super) start: u32,
    pub(super) end: u32,
    /// Origin (on the baseline).
    pub(super) x: f32,
    pub(super) y: f32,
    /// Advance along `dir`.
    pub(super) advance: f32,
    /// Font size in device units.
    pub(super) size: f32,
    /// Unit vector of the writing direction.
    pub(super) dir: (f32, f32),
    /// Vertical writing: columns instead of lines.
    pub(super) vertical: bool,
}

/// A gap wider than this share of the font size is a word space.
const WORD_GAP: f32 = 0.1;
/// In a letter-spaced line, a gap this many times its narrowest word gap is
/// a space (other readers use the same factor and cap).
const WIDE_SPACING_FACTOR: f32 = 1.3;
/// ... or wider than this share of the font size, whichever is less.
const MAX_WIDE_SPACING: f32 = 0.4;
/// A baseline within this share of the font size is the same line.
const SAME_LINE: f32 = 0.5;
/// A line this many font sizes below the previous one starts a paragraph.
const PARAGRAPH_GAP: f32 = 1.8;

/// One glyph in line coordinates: `u` along the writing direction, `v`
/// across it (up for horizontal text).
#[derive(Clone, Copy)]
struct Cell {
    u: f32,
    v: f32,
    advance: f32,
    size: f32,
    start: u32,
    end: u32,
}

struct Line {
    cells: Vec<Cell>,
    v: f32,
    size: f32,
    dir: (f32, f32),
    vertical: bool,
}

/// The page's text: lines separated by `\n`, paragraphs by a blank line.
pub(super) fn page_text(glyphs: &[Placed], text: &str) -> String {
    let mut out = PageWriter::default();
    let mut line: Option<Line> = None;
    for g in glyphs {
        let (dx, dy) = g.dir;
        let cell = Cell {
            u: g.x * dx + g.y * dy,
            v: -g.x * dy + g.y * dx,
            advance: g.advance,
            size: g.size.max(0.01),
            start: g.start,
            end: g.end,
        };
        if let Some(l) = &mut line {
            let same_dir = (l.dir.0 * dx + l.dir.1 * dy) > 0.99 && l.vertical == g.vertical;
            let tolerance = SAME_LINE * l.size.max(cell.size);
            if same_dir && (cell.v - l.v).abs() <= tolerance {
                if !duplicate(l, &cell, text) {
                    l.size = l.size.max(cell.size);
                    l.cells.push(cell);
                }
                continue;
            }
            let done = line.take();
            if let Some(done) = done {
                let gap = if same_dir {
                    (done.v - cell.v) / done.size.max(cell.size)
                } else {
                    f32::INFINITY
                };
                out.line(&render(&done, text), !(0.0..PARAGRAPH_GAP).contains(&gap));
            }
        }
        line = Some(Line {
            cells: vec![cell],
            v: cell.v,
            size: cell.size,
            dir: g.dir,
            vertical: g.vertical,
        });
    }
    if let Some(done) = line {
        out.line(&render(&done, text), false);
    }
    out.finish()
}

/// The same character drawn again at (nearly) the same place: overprinting
/// for a bold look, or a shadow.
fn duplicate(line: &Line, cell: &Cell, text: &str) -> bool {
    let t = &text[cell.start as usize..cell.end as usize];
    if t.trim().is_empty() {
        return false;
    }
    let near = 0.1 * cell.size;
    line.cells.iter().rev().take(24).any(|c| {
        (c.u - cell.u).abs() < near
            && (c.v - cell.v).abs() < near
            && &text[c.start as usize..c.end as usize] == t
    })
}

/// A line's text: cells in reading order with spaces where the gaps are.
fn render(line: &Line, text: &str) -> String {
    let mut cells = line.cells.clone();
    let rtl = cells
        .iter()
        .filter(|c| text[c.start as usize..c.end as usize].chars().any(is_rtl))
        .count();
    let mixed = rtl > 0;
    if mixed {
        // Glyphs of right-to-left scripts are drawn in either order; their
        // positions say the visual one.
        cells.sort_by(|a, b| a.u.total_cmp(&b.u));
    }
    let mut texts = with_accents(&cells, text);
    let spaces = word_spaces(&cells, &mut texts);
    // Visual order, as pieces with the spaces between them.
    let mut pieces: Vec<&str> = Vec::with_capacity(cells.len() * 2);
    for (t, space) in texts.iter().zip(&spaces) {
        let Some(t) = t.as_deref() else {
            continue;
        };
        let prev_space = pieces
            .last()
            .is_some_and(|p| p.ends_with(char::is_whitespace));
        if *space && !prev_space && !t.starts_with(char::is_whitespace) {
            pieces.push(" ");
        }
        pieces.push(t);
    }
    if !mixed {
        return pieces.concat();
    }
    let base_rtl = rtl * 2 >= cells.len();
    reorder(&pieces, base_rtl)
}

/// Whether a space goes before each cell. A gap wider than [`WORD_GAP`] of
/// the glyph before (as other readers measure: a superscript followed by a
/// gap ends a word) or a jump back breaks a word. A line whose every word is
/// then a single character is letter-spaced (code in a spaced monospace
/// font, "M U R D E R"): there only gaps clearly wider than its narrowest
/// one are spaces, and its space glyphs give way to them.
fn word_spaces(cells: &[Cell], texts: &mut [Option<Cow<'_, str>>]) -> Vec<bool> {
    let mut breaks = vec![false; cells.len()];
    // Gap to the last non-blank glyph before, for the letter-spacing test.
    let mut word_gaps: Vec<Option<f32>> = vec![None; cells.len()];
    let mut end_u: Option<f32> = None;
    let mut word_end: Option<f32> = None;
    let mut blank_before = false;
    let mut prev_size = 0.0f32;
    let mut single = true;
    let mut word_chars = 0;
    for (i, (c, t)) in cells.iter().zip(texts.iter()).enumerate() {
        let Some(t) = t.as_deref() else {
            continue;
        };
        if let Some(end) = end_u {
            let gap = c.u - end;
            breaks[i] = gap > WORD_GAP * prev_size || gap < -c.size;
        }
        let end = if c.advance > 0.0 {
            c.u + c.advance
        } else {
            c.u
        };
        end_u = Some(end);
        prev_size = c.size;
        if t.trim().is_empty() {
            blank_before = true;
            continue;
        }
        if let Some(w) = word_end
            && (breaks[i] || blank_before)
        {
            word_gaps[i] = Some(c.u - w);
            single &= word_chars == 1;
            word_chars = 0;
        }
        word_chars += t.chars().count();
        word_end = Some(end);
        blank_before = false;
    }
    single &= word_chars <= 1;
    let narrowest = word_gaps
        .iter()
        .flatten()
        .copied()
        .fold(f32::INFINITY, f32::min);
    if !(single && narrowest > 0.0 && narrowest.is_finite()) {
        return breaks;
    }
    let size = cells.iter().map(|c| c.size).fold(0.0, f32::max);
    let wide = (WIDE_SPACING_FACTOR * narrowest).min(MAX_WIDE_SPACING * size);
    for t in texts.iter_mut() {
        if t.as_deref().is_some_and(|t| t.trim().is_empty()) {
            *t = None;
        }
    }
    word_gaps
        .iter()
        .map(|g| g.is_some_and(|g| g >= wide))
        .collect()
}

/// Each cell's text, with accents that are drawn as glyphs of their own over
/// a letter (as TeX does with fonts lacking the accented letter) joined to
/// that letter as combining marks; the accent's own cell becomes `None`.
fn with_accents<'t>(cells: &[Cell], text: &'t str) -> Vec<Option<Cow<'t, str>>> {
    let mut out: Vec<Option<Cow<'t, str>>> = cells
        .iter()
        .map(|c| Some(Cow::Borrowed(&text[c.start as usize..c.end as usize])))
        .collect();
    for i in 0..cells.len() {
        let mark = {
            let t = &text[cells[i].start as usize..cells[i].end as usize];
            let mut chars = t.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if is_mark(c) => Some(c),
                (Some(c), None) => combining(c),
                _ => None,
            }
        };
        let Some(mark) = mark else {
            continue;
        };
        let a = &cells[i];
        let center = a.u + a.advance / 2.0;
        let slack = 0.1 * a.size;
        let base = [i + 1, i.wrapping_sub(1)].into_iter().find(|&j| {
            cells.get(j).is_some_and(|b| {
                out[j]
                    .as_deref()
                    .is_some_and(|t| t.chars().next().is_some_and(char::is_alphabetic))
                    && center >= b.u - slack
                    && center <= b.u + b.advance + slack
            })
        });
        if let Some(j) = base {
            let letter = out[j].take().unwrap_or_default();
            let mut joined = match letter.as_ref() {
                "ı" => "i".to_string(),
                "ȷ" => "j".to_string(),
                other => other.to_string(),
            };
            joined.push(mark);
            out[j] = Some(Cow::Owned(joined));
            out[i] = None;
        }
    }
    out
}

/// Combining marks (Latin accents, Hebrew points), which producers draw as
/// glyphs of their own, before or over the letter they belong to. Arabic
/// harakat stay where they are drawn: joining them read worse next to the
/// reference extractor (measured on the eval set's Arabic files).
fn is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF)
        || (is_hebrew(c) && unicode_normalization::char::is_combining_mark(c))
}

/// The combining mark a spacing accent stands for.
fn combining(c: char) -> Option<char> {
    Some(match c {
        '`' => '\u{300}',
        '´' => '\u{301}',
        'ˆ' | '^' => '\u{302}',
        '˜' | '~' => '\u{303}',
        '¯' | 'ˉ' => '\u{304}',
        '˘' => '\u{306}',
        '˙' => '\u{307}',
        '¨' => '\u{308}',
        '˚' => '\u{30A}',
        '˝' => '\u{30B}',
        'ˇ' => '\u{30C}',
        '¸' => '\u{327}',
        '˛' => '\u{328}',
        _ => return None,
    })
}

/// Visual pieces → logical order: for a right-to-left line all pieces
/// reversed with left-to-right runs (Latin words, numbers) turned back; for
/// a left-to-right line only the right-to-left runs reversed.
fn reorder(pieces: &[&str], base_rtl: bool) -> String {
    let class = |p: &str| {
        if p.chars().any(is_rtl) {
            Some(true)
        } else if p.chars().any(char::is_alphanumeric) {
            Some(false)
        } else {
            None
        }
    };
    let mut seq: Vec<&str> = pieces.to_vec();
    if base_rtl {
        seq.reverse();
    }
    // Reverse each maximal run whose strong pieces go against the base
    // direction (neutrals inside a run stay in it).
    let against = !base_rtl;
    let mut i = 0;
    while i < seq.len() {
        if class(seq[i]) != Some(against) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut last_strong = i;
        while j < seq.len() && class(seq[j]) != Some(!against) {
            if class(seq[j]) == Some(against) {
                last_strong = j;
            }
            j += 1;
        }
        seq[i..=last_strong].reverse();
        i = last_strong + 1;
    }
    seq.concat()
}

fn is_hebrew(c: char) -> bool {
    matches!(c as u32, 0x0590..=0x05FF | 0xFB1D..=0xFB4F)
}

fn is_rtl(c: char) -> bool {
    matches!(c as u32,
        0x0590..=0x08FF | 0xFB1D..=0xFDFF | 0xFE70..=0xFEFF | 0x10800..=0x10FFF | 0x1E800..=0x1EFFF)
}

/// Joins lines into page text, undoing hyphenation at line ends.
#[derive(Default)]
struct PageWriter {
    out: String,
    /// The last line ended with a hyphen after a letter: join if the next
    /// line starts with a lower-case letter.
    pending_hyphen: bool,
}

impl PageWriter {
    fn line(&mut self, line: &str, paragraph_after: bool) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        if self.pending_hyphen {
            self.pending_hyphen = false;
            if line.starts_with(|c: char| c.is_lowercase()) {
                self.out.pop();
            } else {
                self.out.push('\n');
            }
        } else if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push('\n');
        }
        self.out.push_str(line);
        if let Some(stem) = line.strip_suffix(['-', '\u{00AD}'])
            && stem.ends_with(char::is_alphabetic)
            && !paragraph_after
        {
            self.pending_hyphen = true;
        } else if paragraph_after {
            self.out.push_str("\n\n");
        }
    }

    fn finish(mut self) -> String {
        while self.out.ends_with('\n') {
            self.out.pop();
        }
        expand_ligatures(&self.out)
    }
}

/// Latin ligature characters (U+FB00–FB06) as their letters, so that search
/// finds "file" in "ﬁle".
fn expand_ligatures(text: &str) -> String {
    if !text.chars().any(|c| ('\u{FB00}'..='\u{FB06}').contains(&c)) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{FB00}' => out.push_str("ff"),
            '\u{FB01}' => out.push_str("fi"),
            '\u{FB02}' => out.push_str("fl"),
            '\u{FB03}' => out.push_str("ffi"),
            '\u{FB04}' => out.push_str("ffl"),
            '\u{FB05}' | '\u{FB06}' => out.push_str("st"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Glyphs of one string each at (x, y), 10 units per character.
    fn placed(items: &[(&str, f32, f32)]) -> (Vec<Placed>, String) {
        let mut text = String::new();
        let mut glyphs = Vec::new();
        for &(s, x0, y) in items {
            let mut x = x0;
            for ch in s.chars() {
                let start = text.len() as u32;
                text.push(ch);
                glyphs.push(Placed {
                    start,
                    end: text.len() as u32,
                    x,
                    y,
                    advance: 10.0,
                    size: 20.0,
                    dir: (1.0, 0.0),
                    vertical: false,
                });
                x += 10.0;
            }
        }
        (glyphs, text)
    }

    #[test]
    fn words_lines_and_paragraphs() {
        let (g, t) = placed(&[
            ("Hello", 0.0, 700.0),
            ("world", 55.0, 700.0),
            ("next", 0.0, 676.0),
            ("para", 0.0, 600.0),
        ]);
        assert_eq!(page_text(&g, &t), "Hello world\nnext\n\npara");
    }

    #[test]
    fn letter_spaced_lines_keep_their_words() {
        // Every letter 3 units after the one before (more than a word gap of
        // this font size), the words 11 apart: "abc def", not "a b c d e f".
        let (mut g, t) = placed(&[("abcdef", 0.0, 700.0)]);
        for (i, p) in g.iter_mut().enumerate() {
            p.x = 13.0 * i as f32 + if i >= 3 { 8.0 } else { 0.0 };
        }
        assert_eq!(page_text(&g, &t), "abc def");
    }

    #[test]
    fn kerning_is_not_a_space_and_duplicates_go() {
        let (g, t) = placed(&[("ab", 0.0, 700.0), ("cd", 21.0, 700.0), ("cd", 21.5, 700.3)]);
        assert_eq!(page_text(&g, &t), "abcd");
    }

    #[test]
    fn hyphen_at_line_end_joins() {
        let (g, t) = placed(&[
            ("extrac-", 0.0, 700.0),
            ("tion", 0.0, 676.0),
            ("Well-", 0.0, 652.0),
            ("Known", 0.0, 628.0),
        ]);
        assert_eq!(page_text(&g, &t), "extraction\nWell-\nKnown");
    }

    #[test]
    fn right_to_left_lines_read_in_logical_order() {
        // "שלום" drawn left to right in visual order (last letter leftmost).
        let (g, t) = placed(&[("םולש", 0.0, 700.0)]);
        assert_eq!(page_text(&g, &t), "שלום");
        // Drawn in logical order from the right edge leftwards.
        let (mut g, t) = placed(&[("שלום", 0.0, 700.0)]);
        for (i, p) in g.iter_mut().enumerate() {
            p.x = 100.0 - 10.0 * i as f32;
        }
        assert_eq!(page_text(&g, &t), "שלום");
        // A Latin word inside keeps its own order.
        let (g, t) = placed(&[("PDF", 0.0, 700.0), ("םולש", 45.0, 700.0)]);
        assert_eq!(page_text(&g, &t), "שלום PDF");
    }

    #[test]
    fn accents_drawn_apart_join_their_letter() {
        // TeX's "ā": a macron glyph placed over the "a" that follows it.
        let (mut g, t) = placed(&[("dev", 0.0, 700.0), ("¯a", 30.0, 700.0), ("g", 40.0, 700.0)]);
        g[4].x = 30.0;
        g[5].x = 40.0;
        assert_eq!(page_text(&g, &t), "deva\u{304}g");
        // A Hebrew point drawn over its letter, in visual order "לש" with the
        // point (hiriq) a zero-width glyph inside the shin: it follows the
        // shin in logical order, and no space splits the word.
        let (mut g, t) = placed(&[("ל\u{5B4}ש", 0.0, 700.0)]);
        g[1].x = 14.0;
        g[1].advance = 0.0;
        g[2].x = 10.0;
        assert_eq!(page_text(&g, &t), "ש\u{5B4}ל");
        // A tilde next to, not over, a letter stays itself.
        let (g, t) = placed(&[("~/x", 0.0, 700.0)]);
        assert_eq!(page_text(&g, &t), "~/x");
    }

    #[test]
    fn vertical_text_reads_down_each_column_right_to_left() {
        // Two columns of three glyphs, the first at the right.
        let mut text = String::new();
        let mut glyphs = Vec::new();
        for (col, chars) in ["日本語", "縦書き"].iter().enumerate() {
            for (i, ch) in chars.chars().enumerate() {
                let start = text.len() as u32;
                text.push(ch);
                glyphs.push(Placed {
                    start,
                    end: text.len() as u32,
                    x: 500.0 - 30.0 * col as f32,
                    y: 700.0 - 20.0 * i as f32,
                    advance: 20.0,
                    size: 20.0,
                    dir: (0.0, -1.0),
                    vertical: true,
                });
            }
        }
        assert_eq!(page_text(&glyphs, &text), "日本語\n縦書き");
    }

    #[test]
    fn two_columns_drawn_one_after_the_other_stay_apart() {
        let (g, t) = placed(&[
            ("left one", 0.0, 700.0),
            ("left two", 0.0, 676.0),
            ("right one", 300.0, 700.0),
            ("right two", 300.0, 676.0),
        ]);
        assert_eq!(
            page_text(&g, &t),
            "left one\nleft two\n\nright one\nright two"
        );
    }

    #[test]
    fn ligatures_are_expanded() {
        let (g, t) = placed(&[("\u{FB01}le", 0.0, 700.0)]);
        assert_eq!(page_text(&g, &t), "file");
    }
}
