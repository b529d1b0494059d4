//! The content-stream interpreter: runs a page's operators far enough to know
//! where each character lands (text state, matrices, form XObjects), and
//! hands the placed glyphs to the layout. Checks the budget between
//! operators so a deadline or a cancel stops it mid-page.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::budget::{Budget, Stop};
use super::font::Font;
use super::layout::Placed;
use super::lexer::{Lexer, Token};
use super::objects::{self, MAX_STREAM_BYTES};

/// Fonts of a document, loaded once and shared by every page using them.
#[derive(Default)]
pub(super) struct FontCache {
    fonts: Vec<Font>,
    /// Font dictionary (by object id, or by address when written inline) → index.
    index: HashMap<FontKey, usize>,
}

#[derive(Hash, PartialEq, Eq)]
enum FontKey {
    Object(ObjectId),
    Inline(usize),
}

/// What one page produced.
#[derive(Default)]
pub(super) struct PageGlyphs {
    pub(super) glyphs: Vec<Placed>,
    /// The glyphs' text, which `Placed` indexes into.
    pub(super) text: String,
    /// Glyphs shown whose text no font source knows.
    pub(super) unknown: usize,
    /// Content streams that could not be decoded within the size bound.
    pub(super) dropped_streams: usize,
}

/// A page may show at most this many glyphs (~20 MB of layout data); beyond
/// it the rest of the page is skipped. A dense real page shows ~5,000.
const MAX_GLYPHS_PER_PAGE: usize = 500_000;
/// Form XObjects nest at most this deep (a form may also draw itself).
const MAX_FORM_DEPTH: usize = 12;
/// Operands kept for one operator; more is garbage.
const MAX_OPERANDS: usize = 4096;
/// Saved graphics states kept (`q` without `Q` in a loop).
const MAX_SAVED_STATES: usize = 256;

type Matrix = [f32; 6];
const IDENTITY: Matrix = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];

/// `a` then `b`: the matrix that applies `a` first.
fn mul(a: &Matrix, b: &Matrix) -> Matrix {
    [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]
}

#[derive(Clone)]
struct State {
    ctm: Matrix,
    font: Option<usize>,
    size: f32,
    char_space: f32,
    word_space: f32,
    /// Horizontal scaling, 1.0 = 100 %.
    h_scale: f32,
    leading: f32,
    rise: f32,
}

impl State {
    fn new(ctm: Matrix) -> Self {
        State {
            ctm,
            font: None,
            size: 0.0,
            char_space: 0.0,
            word_space: 0.0,
            h_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Number(f32),
    String(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Operand>),
    Dict(Vec<(Vec<u8>, Operand)>),
    Other,
}

/// One decoded glyph of a shown string: its text's byte range in the
/// string's text buffer, its width and whether word spacing applies.
type Shown = (Option<(usize, usize)>, f32, bool);

/// An open marked-content sequence with `/ActualText`: its glyphs are
/// replaced by that text.
struct Actual {
    depth: usize,
    text: Option<String>,
}

struct Interpreter<'d, 'b> {
    doc: &'d Document,
    fonts: &'b mut FontCache,
    budget: &'b mut Budget,
    out: PageGlyphs,
    state: State,
    saved: Vec<State>,
    tm: Matrix,
    tlm: Matrix,
    /// Form XObjects being drawn, to refuse a form that draws itself.
    forms: Vec<ObjectId>,
    marked_depth: usize,
    actual: Option<Actual>,
    /// Reused buffers for the glyphs of one shown string.
    shown: Vec<Shown>,
    shown_text: String,
}

/// Runs the page `page` (its dictionary) and returns its placed glyphs.
pub(super) fn run_page(
    doc: &Document,
    page: &Dictionary,
    resources: Option<&Dictionary>,
    fonts: &mut FontCache,
    budget: &mut Budget,
) -> Result<PageGlyphs, Stop> {
    let mut interp = Interpreter {
        doc,
        fonts,
        budget,
        out: PageGlyphs::default(),
        state: State::new(IDENTITY),
        saved: Vec::new(),
        tm: IDENTITY,
        tlm: IDENTITY,
        forms: Vec::new(),
        marked_depth: 0,
        actual: None,
        shown: Vec::new(),
        shown_text: String::new(),
    };
    let mut streams = Vec::new();
    match objects::get(doc, page, b"Contents") {
        Some(Object::Stream(s)) => streams.push(s),
        Some(Object::Array(items)) => {
            for item in items {
                if let Some(Object::Stream(s)) = objects::deref(doc, item) {
                    streams.push(s);
                }
            }
        }
        _ => {}
    }
    // Streams of one page are one content stream split anywhere, even inside
    // a token: join them (within the size bound).
    let mut data = Vec::new();
    for s in streams {
        interp.budget.check()?;
        match objects::decoded(s) {
            Some(d) if data.len() + d.len() <= MAX_STREAM_BYTES => {
                data.extend_from_slice(&d);
                data.push(b'\n');
            }
            _ => interp.out.dropped_streams += 1,
        }
    }
    interp.run(&data, resources)?;
    Ok(interp.out)
}

impl Interpreter<'_, '_> {
    fn run(&mut self, data: &[u8], resources: Option<&Dictionary>) -> Result<(), Stop> {
        let mut lx = Lexer::new(data);
        let mut operands: Vec<Operand> = Vec::new();
        // Open arrays and dictionaries while reading operands.
        let mut open: Vec<(bool, Vec<Operand>)> = Vec::new();
        while let Some(tok) = lx.next_token() {
            let value = match tok {
                Token::Number(n) => Operand::Number(n),
                Token::String(s) => Operand::String(s),
                Token::Name(n) => Operand::Name(n),
                Token::ArrayOpen | Token::DictOpen => {
                    if open.len() < 32 {
                        open.push((tok == Token::DictOpen, Vec::new()));
                    }
                    continue;
                }
                Token::ArrayClose | Token::DictClose => match open.pop() {
                    Some((false, items)) => Operand::Array(items),
                    Some((true, items)) => Operand::Dict(pairs(items)),
                    None => continue,
                },
                Token::Brace => Operand::Other,
                Token::Word(w) if !open.is_empty() => {
                    // `true`, `false`, `null` inside arrays and dictionaries.
                    let _ = w;
                    Operand::Other
                }
                Token::Word(op) => {
                    self.budget.check()?;
                    if op == b"ID" {
                        lx.skip_inline_image();
                    } else {
                        self.operator(op, &operands, resources)?;
                    }
                    operands.clear();
                    if self.out.glyphs.len() >= MAX_GLYPHS_PER_PAGE {
                        return Ok(());
                    }
                    continue;
                }
            };
            match open.last_mut() {
                Some((_, items)) => items.push(value),
                None if operands.len() < MAX_OPERANDS => operands.push(value),
                None => {}
            }
        }
        Ok(())
    }

    fn operator(
        &mut self,
        op: &[u8],
        args: &[Operand],
        resources: Option<&Dictionary>,
    ) -> Result<(), Stop> {
        let n = |i: usize| match args.get(i) {
            Some(Operand::Number(v)) if v.is_finite() => *v,
            _ => 0.0,
        };
        match op {
            b"q" if self.saved.len() < MAX_SAVED_STATES => {
                self.saved.push(self.state.clone());
            }
            b"Q" => {
                if let Some(s) = self.saved.pop() {
                    self.state = s;
                }
            }
            b"cm" if args.len() >= 6 => {
                let m = [n(0), n(1), n(2), n(3), n(4), n(5)];
                self.state.ctm = mul(&m, &self.state.ctm);
            }
            b"BT" => {
                self.tm = IDENTITY;
                self.tlm = IDENTITY;
            }
            b"Tf" => {
                if let Some(Operand::Name(name)) = args.first() {
                    self.state.font = self.font(resources, name);
                }
                self.state.size = n(1);
            }
            b"Tc" => self.state.char_space = n(0),
            b"Tw" => self.state.word_space = n(0),
            b"Tz" => self.state.h_scale = n(0) / 100.0,
            b"TL" => self.state.leading = n(0),
            b"Ts" => self.state.rise = n(0),
            b"Td" => self.move_line(n(0), n(1)),
            b"TD" => {
                self.state.leading = -n(1);
                self.move_line(n(0), n(1));
            }
            b"Tm" if args.len() >= 6 => {
                self.tlm = [n(0), n(1), n(2), n(3), n(4), n(5)];
                self.tm = self.tlm;
            }
            b"T*" => self.move_line(0.0, -self.state.leading),
            b"Tj" => {
                if let Some(Operand::String(s)) = args.first() {
                    self.show(s);
                }
            }
            b"'" => {
                self.move_line(0.0, -self.state.leading);
                if let Some(Operand::String(s)) = args.first() {
                    self.show(s);
                }
            }
            b"\"" => {
                self.state.word_space = n(0);
                self.state.char_space = n(1);
                self.move_line(0.0, -self.state.leading);
                if let Some(Operand::String(s)) = args.get(2) {
                    self.show(s);
                }
            }
            b"TJ" => {
                if let Some(Operand::Array(items)) = args.first() {
                    for item in items {
                        match item {
                            Operand::String(s) => self.show(s),
                            Operand::Number(adj) if adj.is_finite() => self.adjust(*adj),
                            _ => {}
                        }
                    }
                }
            }
            b"Do" => {
                if let Some(Operand::Name(name)) = args.first() {
                    self.form(resources, name)?;
                }
            }
            b"BMC" => self.marked_depth += 1,
            b"BDC" => {
                self.marked_depth += 1;
                if self.actual.is_none()
                    && let Some(text) = self.actual_text(resources, args.get(1))
                {
                    self.actual = Some(Actual {
                        depth: self.marked_depth,
                        text: Some(text),
                    });
                }
            }
            b"EMC" => {
                if let Some(a) = &self.actual
                    && a.depth == self.marked_depth
                {
                    let a = self.actual.take();
                    if let Some(text) = a.and_then(|a| a.text) {
                        // Nothing was shown inside: place the text here.
                        self.place_text(&text, 0.0);
                    }
                }
                self.marked_depth = self.marked_depth.saturating_sub(1);
            }
            _ => {}
        }
        Ok(())
    }

    fn move_line(&mut self, tx: f32, ty: f32) {
        self.tlm = mul(&[1.0, 0.0, 0.0, 1.0, tx, ty], &self.tlm);
        self.tm = self.tlm;
    }

    /// A TJ number: moves the next glyph back by `adj` thousandths of an em.
    fn adjust(&mut self, adj: f32) {
        let vertical = self.current_font().is_some_and(|f| f.vertical);
        let d = -adj / 1000.0 * self.state.size;
        if vertical {
            self.tm = mul(&[1.0, 0.0, 0.0, 1.0, 0.0, d], &self.tm);
        } else {
            self.tm = mul(&[1.0, 0.0, 0.0, 1.0, d * self.state.h_scale, 0.0], &self.tm);
        }
    }

    fn current_font(&self) -> Option<&Font> {
        self.state.font.map(|i| &self.fonts.fonts[i])
    }

    fn font(&mut self, resources: Option<&Dictionary>, name: &[u8]) -> Option<usize> {
        let fonts = objects::dict(self.doc, resources?, b"Font")?;
        let entry = fonts.get(name).ok()?;
        let key = match entry {
            Object::Reference(id) => FontKey::Object(*id),
            other => FontKey::Inline(other as *const Object as usize),
        };
        if let Some(&i) = self.fonts.index.get(&key) {
            return Some(i);
        }
        let dict = objects::deref(self.doc, entry)?.as_dict().ok()?;
        let font = Font::load(self.doc, dict);
        self.fonts.fonts.push(font);
        let i = self.fonts.fonts.len() - 1;
        self.fonts.index.insert(key, i);
        Some(i)
    }

    /// Shows a string: places each glyph and advances the text matrix.
    fn show(&mut self, bytes: &[u8]) {
        let Some(fi) = self.state.font else {
            return;
        };
        let st = self.state.clone();
        let font = &mut self.fonts.fonts[fi];
        let vertical = font.vertical;
        let mut shown = std::mem::take(&mut self.shown);
        let mut shown_text = std::mem::take(&mut self.shown_text);
        shown.clear();
        shown_text.clear();
        font.decode(bytes, |g| {
            let range = g.text.map(|t| {
                let start = shown_text.len();
                shown_text.push_str(t);
                (start, shown_text.len())
            });
            shown.push((range, g.width, g.word_space));
        });
        for &(range, width, word_space) in &shown {
            let text = range.map(|(a, b)| &shown_text[a..b]);
            let spacing = st.char_space + if word_space { st.word_space } else { 0.0 };
            let trm = mul(
                &mul(
                    &[st.size * st.h_scale, 0.0, 0.0, st.size, 0.0, st.rise],
                    &self.tm,
                ),
                &st.ctm,
            );
            let (adv_x, adv_y) = if vertical {
                (0.0, -(st.size + spacing))
            } else {
                ((width * st.size + spacing) * st.h_scale, 0.0)
            };
            // The glyph's own extent leaves out character and word spacing:
            // letter-spaced text has gaps between its letters, as in other
            // readers.
            let (own_x, own_y) = if vertical {
                (0.0, -st.size)
            } else {
                (width * st.size * st.h_scale, 0.0)
            };
            let m = mul(&self.tm, &st.ctm);
            let dev_adv = (own_x * m[0] + own_y * m[2], own_x * m[1] + own_y * m[3]);
            // Direction of writing: along the advance, or the text's x axis
            // for a zero-width glyph.
            let dir = if vertical {
                (-trm[2], -trm[3])
            } else {
                (trm[0], trm[1])
            };
            // Mirrored text (a negative x scale, as in the XeTeX logo) still
            // reads in the line's direction; text flipped upside down by a
            // negative y scale (Type 3 fonts) reads as it is.
            let dir = if trm[0] * trm[3] - trm[1] * trm[2] < 0.0 && trm[3] > 0.0 {
                (-dir.0, -dir.1)
            } else {
                dir
            };
            let dir_len = (dir.0 * dir.0 + dir.1 * dir.1).sqrt();
            let font_size = (trm[2] * trm[2] + trm[3] * trm[3]).sqrt();
            if dir_len > 0.0 && font_size.is_finite() {
                let dir = (dir.0 / dir_len, dir.1 / dir_len);
                let advance = dev_adv.0 * dir.0 + dev_adv.1 * dir.1;
                let suppressed = self.actual.is_some();
                if let Some(a) = &mut self.actual
                    && let Some(t) = a.text.take()
                {
                    self.push(&t, trm[4], trm[5], advance, font_size, dir, false);
                } else if !suppressed {
                    match text {
                        Some(t) => self.push(t, trm[4], trm[5], advance, font_size, dir, vertical),
                        None => self.out.unknown += 1,
                    }
                }
            }
            self.tm = mul(&[1.0, 0.0, 0.0, 1.0, adv_x, adv_y], &self.tm);
        }
        self.shown = shown;
        self.shown_text = shown_text;
    }

    /// Places `text` at the current text position (for ActualText shown
    /// without glyphs).
    fn place_text(&mut self, text: &str, advance: f32) {
        let m = mul(&self.tm, &self.state.ctm);
        let size = self.state.size * (m[2] * m[2] + m[3] * m[3]).sqrt();
        let len = (m[0] * m[0] + m[1] * m[1]).sqrt();
        if len > 0.0 && size.is_finite() {
            self.push(
                text,
                m[4],
                m[5],
                advance,
                size,
                (m[0] / len, m[1] / len),
                false,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        text: &str,
        x: f32,
        y: f32,
        advance: f32,
        size: f32,
        dir: (f32, f32),
        vertical: bool,
    ) {
        if text.is_empty() || !(x.is_finite() && y.is_finite() && advance.is_finite()) {
            return;
        }
        let start = self.out.text.len();
        self.out.text.push_str(text);
        self.out.glyphs.push(Placed {
            start: start as u32,
            end: self.out.text.len() as u32,
            x,
            y,
            advance,
            size,
            dir,
            vertical,
        });
    }

    /// `Do`: draws a form XObject (images carry no text).
    fn form(&mut self, resources: Option<&Dictionary>, name: &[u8]) -> Result<(), Stop> {
        let Some(xobjects) = resources.and_then(|r| objects::dict(self.doc, r, b"XObject")) else {
            return Ok(());
        };
        let Ok(entry) = xobjects.get(name) else {
            return Ok(());
        };
        let id = entry.as_reference().ok();
        let Some(Object::Stream(form)) = objects::deref(self.doc, entry) else {
            return Ok(());
        };
        if objects::name(self.doc, &form.dict, b"Subtype") != Some(b"Form")
            || self.forms.len() >= MAX_FORM_DEPTH
            || id.is_some_and(|id| self.forms.contains(&id))
        {
            return Ok(());
        }
        let Some(data) = objects::decoded(form) else {
            self.out.dropped_streams += 1;
            return Ok(());
        };
        let matrix = objects::array(self.doc, &form.dict, b"Matrix")
            .filter(|m| m.len() == 6)
            .map(|m| {
                let v: Vec<f32> = m
                    .iter()
                    .map(|o| {
                        objects::deref(self.doc, o)
                            .and_then(objects::number)
                            .unwrap_or(0.0)
                    })
                    .collect();
                [v[0], v[1], v[2], v[3], v[4], v[5]]
            })
            .unwrap_or(IDENTITY);
        let own = objects::dict(self.doc, &form.dict, b"Resources");
        let saved = (
            self.state.clone(),
            self.tm,
            self.tlm,
            std::mem::take(&mut self.saved),
        );
        self.state.ctm = mul(&matrix, &self.state.ctm);
        self.forms.push(id.unwrap_or((0, 0)));
        let result = self.run(&data, own.or(resources));
        self.forms.pop();
        (self.state, self.tm, self.tlm, self.saved) = saved;
        result
    }

    /// The `/ActualText` of a BDC property list (inline or a named resource).
    fn actual_text(
        &self,
        resources: Option<&Dictionary>,
        props: Option<&Operand>,
    ) -> Option<String> {
        match props? {
            Operand::Dict(pairs) => pairs.iter().find_map(|(k, v)| match (k.as_slice(), v) {
                (b"ActualText", Operand::String(s)) => objects::raw_text_string(&Object::String(
                    s.clone(),
                    lopdf::StringFormat::Literal,
                )),
                _ => None,
            }),
            Operand::Name(n) => {
                let props = objects::dict(self.doc, resources?, b"Properties")?;
                let d = objects::deref(self.doc, props.get(n).ok()?)?
                    .as_dict()
                    .ok()?;
                objects::get(self.doc, d, b"ActualText").and_then(objects::raw_text_string)
            }
            _ => None,
        }
    }
}

/// Key/value pairs of an inline dictionary.
fn pairs(items: Vec<Operand>) -> Vec<(Vec<u8>, Operand)> {
    let mut out = Vec::new();
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if let Operand::Name(k) = k {
            out.push((k, v));
        }
    }
    out
}
