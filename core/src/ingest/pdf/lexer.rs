//! Tokens of PDF content streams and CMaps (PostScript syntax), read one at a
//! time from a byte slice so a caller can stop between any two and nothing
//! grows with the stream's size.

/// One token. Strings are decoded (escapes, hex) into owned bytes.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token<'a> {
    Number(f32),
    String(Vec<u8>),
    Name(Vec<u8>),
    /// An operator or other bare word (`Tj`, `true`, `begincmap`).
    Word(&'a [u8]),
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    /// `{` or `}`: PostScript procedures in CMaps, never in content.
    Brace,
}

pub(super) struct Lexer<'a> {
    data: &'a [u8],
    pos: usize,
}

/// How deep literal strings may nest parentheses before the rest is taken
/// as plain bytes.
const MAX_PAREN_DEPTH: usize = 64;

fn is_white(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0C | 0)
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

impl<'a> Lexer<'a> {
    pub(super) fn new(data: &'a [u8]) -> Self {
        Lexer { data, pos: 0 }
    }

    /// Byte offset of the next token (or of the white space before it).
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    fn skip_white(&mut self) {
        while let Some(&b) = self.data.get(self.pos) {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self
                    .data
                    .get(self.pos)
                    .is_some_and(|&b| b != b'\n' && b != b'\r')
                {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    fn regular_run(&mut self) -> &'a [u8] {
        let start = self.pos;
        while self
            .data
            .get(self.pos)
            .is_some_and(|&b| !is_white(b) && !is_delim(b))
        {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    /// The next token, `None` at the end.
    pub(super) fn next_token(&mut self) -> Option<Token<'a>> {
        loop {
            self.skip_white();
            let b = *self.data.get(self.pos)?;
            match b {
                b'(' => {
                    self.pos += 1;
                    return Some(Token::String(self.literal_string()));
                }
                b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                    self.pos += 2;
                    return Some(Token::DictOpen);
                }
                b'<' => {
                    self.pos += 1;
                    return Some(Token::String(self.hex_string()));
                }
                b'>' if self.data.get(self.pos + 1) == Some(&b'>') => {
                    self.pos += 2;
                    return Some(Token::DictClose);
                }
                b'[' => {
                    self.pos += 1;
                    return Some(Token::ArrayOpen);
                }
                b']' => {
                    self.pos += 1;
                    return Some(Token::ArrayClose);
                }
                b'{' | b'}' => {
                    self.pos += 1;
                    return Some(Token::Brace);
                }
                b'/' => {
                    self.pos += 1;
                    return Some(Token::Name(decode_name(self.regular_run())));
                }
                b')' | b'>' => {
                    // Stray closer: skip it.
                    self.pos += 1;
                }
                _ => {
                    let word = self.regular_run();
                    if word.is_empty() {
                        self.pos += 1;
                        continue;
                    }
                    return Some(match parse_number(word) {
                        Some(n) => Token::Number(n),
                        None => Token::Word(word),
                    });
                }
            }
        }
    }

    fn literal_string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        while let Some(&b) = self.data.get(self.pos) {
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' if depth == 0 => return out,
                b')' => {
                    depth -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let Some(&e) = self.data.get(self.pos) else {
                        break;
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'\r' => {
                            if self.data.get(self.pos) == Some(&b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.data.get(self.pos) {
                                    Some(&d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push(v as u8);
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
            if depth > MAX_PAREN_DEPTH {
                depth = MAX_PAREN_DEPTH;
            }
        }
        out
    }

    fn hex_string(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        while let Some(&b) = self.data.get(self.pos) {
            self.pos += 1;
            let v = match b {
                b'>' => break,
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => continue,
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        if let Some(h) = high {
            out.push(h << 4);
        }
        out
    }

    /// Skips the data of an inline image after its `ID` operator, up to and
    /// including the `EI` that ends it.
    pub(super) fn skip_inline_image(&mut self) {
        // One white-space byte follows ID.
        self.pos += 1;
        while self.pos + 1 < self.data.len() {
            if self.data[self.pos] == b'E'
                && self.data[self.pos + 1] == b'I'
                && self.pos > 0
                && is_white(self.data[self.pos - 1])
                && self
                    .data
                    .get(self.pos + 2)
                    .is_none_or(|&b| is_white(b) || is_delim(b))
            {
                self.pos += 2;
                return;
            }
            self.pos += 1;
        }
        self.pos = self.data.len();
    }
}

/// `#xx` escapes in names.
fn decode_name(raw: &[u8]) -> Vec<u8> {
    if !raw.contains(&b'#') {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && i + 2 < raw.len()
            && let Some(v) = std::str::from_utf8(&raw[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

/// PDF numbers: `12`, `-3.5`, `.5`, `4.`; also the `--5` some producers write.
fn parse_number(word: &[u8]) -> Option<f32> {
    let first = *word.first()?;
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return None;
    }
    let s = std::str::from_utf8(word).ok()?;
    let trimmed = s.trim_start_matches(['+', '-']);
    let negative = s.len() - trimmed.len() > 0 && s.starts_with('-');
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    if trimmed.bytes().filter(|&b| b == b'.').count() > 1 {
        return None;
    }
    let v: f32 = if trimmed == "." {
        0.0
    } else {
        trimmed.parse().ok()?
    };
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> Vec<Token<'_>> {
        let mut lx = Lexer::new(data);
        std::iter::from_fn(|| lx.next_token()).collect()
    }

    #[test]
    fn tokens_of_a_content_stream() {
        let toks = all(
            b"BT /F1 12 Tf (a\\(b\\)\\101) Tj [<0041> -250 (c)] TJ .5 -3. ET % note\n<< /A 1 >>",
        );
        assert_eq!(
            toks,
            [
                Token::Word(b"BT"),
                Token::Name(b"F1".to_vec()),
                Token::Number(12.0),
                Token::Word(b"Tf"),
                Token::String(b"a(b)A".to_vec()),
                Token::Word(b"Tj"),
                Token::ArrayOpen,
                Token::String(vec![0, 0x41]),
                Token::Number(-250.0),
                Token::String(b"c".to_vec()),
                Token::ArrayClose,
                Token::Word(b"TJ"),
                Token::Number(0.5),
                Token::Number(-3.0),
                Token::Word(b"ET"),
                Token::DictOpen,
                Token::Name(b"A".to_vec()),
                Token::Number(1.0),
                Token::DictClose,
            ]
        );
    }

    #[test]
    fn odd_input_does_not_stop_the_lexer() {
        assert_eq!(
            all(b"(unterminated"),
            [Token::String(b"unterminated".to_vec())]
        );
        assert_eq!(all(b"<4"), [Token::String(vec![0x40])]);
        assert_eq!(all(b"/A#20B"), [Token::Name(b"A B".to_vec())]);
        assert_eq!(all(b") > --5"), [Token::Number(-5.0)]);
        let mut lx = Lexer::new(b"BI /W 1 ID \x01EI\x02 EI Q");
        while lx.next_token() != Some(Token::Word(b"ID")) {}
        lx.skip_inline_image();
        assert_eq!(lx.next_token(), Some(Token::Word(b"Q")));
    }
}
