//! Obsidian callouts: a block quote opening with `> [!type]` (optionally `+`
//! or `-` to fold) and a title on the same line. The title (else the type)
//! labels the block like a heading; the marker is not text.

use std::ops::Range;

/// A callout found at the start of a block quote.
#[derive(Debug, PartialEq)]
pub(super) struct Callout {
    /// The type, lower-cased (`note`, `warning`, a custom one).
    pub kind: String,
    /// The title, or the type capitalised when there is none (as shown).
    pub label: String,
    /// Bytes of the `[!type]±` marker and the spaces after it.
    pub marker: Range<usize>,
}

/// The callout whose block quote starts at byte `start` of `src`, if its
/// first line is one.
pub(super) fn detect(src: &str, start: usize) -> Option<Callout> {
    let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    let line = &src[start..line_end];
    let after_quote = line.trim_start().strip_prefix('>')?.trim_start();
    let open = line.len() - after_quote.len();
    let inner = after_quote.strip_prefix("[!")?;
    let close = inner.find(']')?;
    let kind = &inner[..close];
    if kind.is_empty()
        || !kind
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
    {
        return None;
    }
    let mut rest = &inner[close + 1..];
    rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    let title = rest.trim();
    let marker_end = line.len() - rest.trim_start().len();
    let label = if title.is_empty() {
        let mut chars = kind.chars();
        chars.next().map_or_else(String::new, |first| {
            first
                .to_uppercase()
                .chain(chars.flat_map(char::to_lowercase))
                .collect()
        })
    } else {
        title.to_string()
    };
    Some(Callout {
        kind: kind.to_lowercase(),
        label,
        marker: start + open..start + marker_end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callouts_with_and_without_titles() {
        let src = "> [!warning]- Mind the gap\n> body";
        let c = detect(src, 0).unwrap();
        assert_eq!(
            (c.kind.as_str(), c.label.as_str()),
            ("warning", "Mind the gap")
        );
        assert_eq!(&src[c.marker.clone()], "[!warning]- ");
        let src = "x\n  >  [!TIP]\n> body";
        let c = detect(src, 2).unwrap();
        assert_eq!((c.kind.as_str(), c.label.as_str()), ("tip", "Tip"));
        assert_eq!(&src[c.marker], "[!TIP]");
        assert_eq!(detect("> plain quote", 0), None);
        assert_eq!(detect("> [!] empty", 0), None);
        assert_eq!(detect("> [!a b] spaced", 0), None);
    }
}
