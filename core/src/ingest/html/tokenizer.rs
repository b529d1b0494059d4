//! A forgiving HTML tokenizer: start and end tags with attributes, text with
//! character references decoded, comments and doctypes skipped, and the raw
//! text of `script`, `style`, `title`, `textarea` kept whole. It never
//! fails: what is not markup is text, as browsers read tag soup. It is a
//! flat iterator, so nesting depth costs nothing.

use std::borrow::Cow;

/// One token of the page.
#[derive(Debug, PartialEq)]
pub(super) enum Token<'a> {
    Start {
        /// Lower-cased tag name.
        name: String,
        attrs: Vec<(String, String)>,
    },
    End {
        name: String,
    },
    Text(Cow<'a, str>),
}

pub(super) struct Tokenizer<'a> {
    src: &'a str,
    pos: usize,
    /// Inside a raw-text element: its name, until its end tag.
    raw: Option<String>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(src: &'a str) -> Self {
        Tokenizer {
            src,
            pos: 0,
            raw: None,
        }
    }

    /// The text of a raw-text element, up to its end tag.
    fn raw_text(&mut self, name: &str) -> Token<'a> {
        let rest = &self.src[self.pos..];
        let close = format!("</{name}");
        let end = find_ascii_ci(rest, &close).unwrap_or(rest.len());
        self.pos += end;
        let text = &rest[..end];
        if matches!(name, "title" | "textarea") {
            Token::Text(decode_entities(text))
        } else {
            Token::Text(Cow::Borrowed(text))
        }
    }

    /// Skips past `needle` (or to the end).
    fn skip_past(&mut self, needle: &str) {
        self.pos = match self.src[self.pos..].find(needle) {
            Some(i) => self.pos + i + needle.len(),
            None => self.src.len(),
        };
    }

    /// A tag at `self.pos` (just after `<`): `None` when it is not one.
    fn tag(&mut self) -> Option<Token<'a>> {
        let bytes = self.src.as_bytes();
        let end_tag = bytes.get(self.pos) == Some(&b'/');
        let name_start = self.pos + usize::from(end_tag);
        if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        let mut i = name_start;
        while i < bytes.len()
            && !matches!(bytes[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0C | b'/' | b'>')
        {
            i += 1;
        }
        let name = self.src[name_start..i].to_ascii_lowercase();
        let (attrs, after) = attributes(self.src, i);
        self.pos = after;
        if end_tag {
            return Some(Token::End { name });
        }
        if is_raw_text(&name) {
            self.raw = Some(name.clone());
        }
        Some(Token::Start { name, attrs })
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(name) = self.raw.take() {
            let text = self.raw_text(&name);
            if !matches!(&text, Token::Text(t) if t.is_empty()) {
                return Some(text);
            }
        }
        loop {
            let rest = &self.src[self.pos..];
            if rest.is_empty() {
                return None;
            }
            if !rest.starts_with('<') {
                let end = rest.find('<').unwrap_or(rest.len());
                self.pos += end;
                return Some(Token::Text(decode_entities(&rest[..end])));
            }
            let start = self.pos;
            self.pos += 1;
            if rest.starts_with("<!--") {
                self.pos = start + 4;
                self.skip_past("-->");
            } else if rest.starts_with("<!") {
                // A doctype; an internal subset (`[...]`) may hold `>`.
                let close = rest.find('>').unwrap_or(rest.len());
                match rest[..close].find('[') {
                    Some(_) => self.skip_past("]>"),
                    None => self.skip_past(">"),
                }
            } else if rest.starts_with("<?") {
                self.skip_past(">");
            } else if let Some(token) = self.tag() {
                return Some(token);
            } else {
                self.pos = start + 1;
                return Some(Token::Text(Cow::Borrowed("<")));
            }
        }
    }
}

fn is_raw_text(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "title"
            | "textarea"
            | "xmp"
            | "iframe"
            | "noembed"
            | "noframes"
            | "noscript"
    )
}

/// Byte offset of `needle` (ASCII) in `hay`, ignoring ASCII case.
fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    if n.len() > h.len() {
        return None;
    }
    (0..=h.len() - n.len()).find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The attributes from byte `at` to the tag's `>`, and the offset after it.
fn attributes(src: &str, mut at: usize) -> (Vec<(String, String)>, usize) {
    let bytes = src.as_bytes();
    let mut attrs = Vec::new();
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'/') {
            at += 1;
        }
        if at >= bytes.len() {
            return (attrs, at);
        }
        if bytes[at] == b'>' {
            return (attrs, at + 1);
        }
        let name_start = at;
        while at < bytes.len()
            && !matches!(
                bytes[at],
                b' ' | b'\t' | b'\n' | b'\r' | 0x0C | b'/' | b'>' | b'='
            )
        {
            at += 1;
        }
        let name = src[name_start..at].to_ascii_lowercase();
        while at < bytes.len() && bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let mut value = String::new();
        if bytes.get(at) == Some(&b'=') {
            at += 1;
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            let (raw, next) = match bytes.get(at) {
                Some(&q @ (b'"' | b'\'')) => {
                    let close = src[at + 1..]
                        .find(q as char)
                        .map_or(src.len(), |i| at + 1 + i);
                    (&src[at + 1..close], (close + 1).min(src.len()))
                }
                _ => {
                    let end = src[at..]
                        .find(|c: char| c.is_ascii_whitespace() || c == '>')
                        .map_or(src.len(), |i| at + i);
                    (&src[at..end], end)
                }
            };
            value = decode_entities(raw).into_owned();
            at = next;
        }
        if !name.is_empty() {
            attrs.push((name, value));
        }
    }
}

/// Decodes character references: named (HTML5 table), decimal and hex; an
/// unknown or broken reference stays as written.
pub(super) fn decode_entities(text: &str) -> Cow<'_, str> {
    if !text.contains('&') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        match reference(rest) {
            Some((decoded, len)) => {
                out.push_str(&decoded);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The reference at the start of `s` (which starts with `&`): its text and
/// length in bytes.
fn reference(s: &str) -> Option<(String, usize)> {
    let body = &s[1..];
    if let Some(num) = body.strip_prefix('#') {
        let (digits, radix, skip) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16, 3),
            None => (num, 10, 2),
        };
        let len = digits
            .find(|c: char| !c.is_digit(radix))
            .unwrap_or(digits.len());
        let code = u32::from_str_radix(&digits[..len], radix).ok()?;
        let c = char::from_u32(code)
            .filter(|&c| c != '\0')
            .unwrap_or('\u{FFFD}');
        let semi = usize::from(digits[len..].starts_with(';'));
        return Some((c.to_string(), skip + len + semi));
    }
    let len = body
        .find(|c: char| !c.is_ascii_alphanumeric())
        .unwrap_or(body.len());
    if len == 0 || len > 32 {
        return None;
    }
    let name = &body[..len];
    if body[len..].starts_with(';') {
        let value = quick_xml::escape::resolve_html5_entity(name)?;
        return Some((value.to_string(), len + 2));
    }
    // The few references browsers also take without `;`.
    let value = match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "nbsp" => "\u{a0}",
        "copy" => "©",
        "reg" => "®",
        _ => return None,
    };
    Some((value.to_string(), len + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<String> {
        Tokenizer::new(src)
            .map(|t| match t {
                Token::Start { name, attrs } => {
                    let attrs: Vec<String> =
                        attrs.iter().map(|(k, v)| format!(" {k}={v}")).collect();
                    format!("<{name}{}>", attrs.concat())
                }
                Token::End { name } => format!("</{name}>"),
                Token::Text(t) => t.into_owned(),
            })
            .collect()
    }

    #[test]
    fn tags_attributes_and_text() {
        assert_eq!(
            tokens(
                "<!DOCTYPE html><P Class=\"a b\" id=x data-v='1>2' hidden>Caf&eacute; &amp co&#8212;&#x41;</p><br/>"
            ),
            [
                "<p class=a b id=x data-v=1>2 hidden=>",
                "Café & co—A",
                "</p>",
                "<br>"
            ]
        );
    }

    #[test]
    fn comments_doctype_subsets_and_raw_text() {
        assert_eq!(
            tokens(
                "a<!-- <p>no</p> -->b<!DOCTYPE x [<!ENTITY e \"v\">]>c<script>if (a<b) {}</SCRIPT>d<title>T&amp;C</title>"
            ),
            [
                "a",
                "b",
                "c",
                "<script>",
                "if (a<b) {}",
                "</script>",
                "d",
                "<title>",
                "T&C",
                "</title>"
            ]
        );
    }

    #[test]
    fn tag_soup_is_text() {
        assert_eq!(
            tokens("1 < 2 and <3 &bogus; &#xZZ; <"),
            ["1 ", "<", " 2 and ", "<", "3 &bogus; &#xZZ; ", "<"]
        );
        assert_eq!(tokens("<p unterminated"), ["<p unterminated=>"]);
        assert_eq!(tokens("<!-- never closed"), Vec::<String>::new());
    }
}
