//! Finds the `[n]` source citations in a generated answer, so hosts can link
//! each answer back to the passages it claims to rest on.

use std::ops::Range;

/// Parses `[n]`, `[n, m]`, `[n][m]` and `[n-m]` style citations in `text`.
///
/// Returns the cited 1-based source numbers in order of first use, each once.
/// Numbers outside `1..=max` are ignored (small models invent sources), and so
/// is any bracket that holds anything but numbers, commas and ranges (Markdown
/// links, `[sic]`, years in prose stay out).
pub fn parse_citations(text: &str, max: usize) -> Vec<usize> {
    let mut cited = Vec::new();
    for (_, numbers) in citation_brackets(text, max) {
        for n in numbers {
            if !cited.contains(&n) {
                cited.push(n);
            }
        }
    }
    cited
}

/// Every citation bracket of `text`: its byte range (brackets included) and
/// its in-range numbers, in order. What answer checks rewrite.
pub(crate) fn citation_brackets(text: &str, max: usize) -> Vec<(Range<usize>, Vec<usize>)> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(open) = text[offset..].find('[') {
        let inner = offset + open + 1;
        let Some(close) = text[inner..].find([']', '[']) else {
            break;
        };
        let close = inner + close;
        if text[close..].starts_with('[') {
            // "[[1]": restart at the inner bracket.
            offset = close;
            continue;
        }
        if let Some(numbers) = bracket_numbers(&text[inner..close], max) {
            found.push((inner - 1..close + 1, numbers));
        }
        offset = close + 1;
    }
    found
}

/// The in-range numbers of one bracket's content, or `None` if it is not a citation.
fn bracket_numbers(inner: &str, max: usize) -> Option<Vec<usize>> {
    let mut numbers = Vec::new();
    for item in inner.split([',', ';']) {
        match item.split_once(['-', '–', '—']) {
            Some((first, last)) => {
                let (first, last) = (number(first)?, number(last)?);
                if first > last {
                    return None;
                }
                // Capped at `max`, so "[1-999999999]" costs nothing.
                numbers.extend(first.max(1)..=last.min(max));
            }
            None => {
                let n = number(item)?;
                if (1..=max).contains(&n) {
                    numbers.push(n);
                }
            }
        }
    }
    Some(numbers)
}

fn number(s: &str) -> Option<usize> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Overlong numbers overflow and are simply not citations.
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::{citation_brackets, parse_citations};

    #[test]
    fn brackets_are_located() {
        let text = "A [1]. B [2, 9] and [x] [3-4].";
        let found = citation_brackets(text, 3);
        let ranges: Vec<&str> = found.iter().map(|(r, _)| &text[r.clone()]).collect();
        assert_eq!(ranges, ["[1]", "[2, 9]", "[3-4]"]);
        assert_eq!(found[1].1, [2]);
        assert_eq!(found[2].1, [3]);
    }

    #[test]
    fn single_and_repeated() {
        assert_eq!(
            parse_citations("Brew at 93 °C [2]. Grind fine [1].", 3),
            [2, 1]
        );
        assert_eq!(parse_citations("A [1]. B [1]. C [2].", 3), [1, 2]);
    }

    #[test]
    fn lists_adjacent_and_ranges() {
        assert_eq!(parse_citations("x [1, 3]", 5), [1, 3]);
        assert_eq!(parse_citations("x [3; 1]", 5), [3, 1]);
        assert_eq!(parse_citations("x [2][1]", 5), [2, 1]);
        assert_eq!(parse_citations("x [2-4]", 5), [2, 3, 4]);
        assert_eq!(parse_citations("x [4–5] and [1 - 2]", 5), [4, 5, 1, 2]);
        assert_eq!(parse_citations("x [ 1 ,2 ]", 5), [1, 2]);
    }

    #[test]
    fn out_of_range_numbers_are_ignored() {
        assert_eq!(
            parse_citations("[0] [4] [2] [99999999999999999999999]", 3),
            [2]
        );
        assert_eq!(parse_citations("[2-9]", 3), [2, 3]);
        assert_eq!(parse_citations("[0-1]", 3), [1]);
        assert_eq!(parse_citations("[1-999999999]", 2), [1, 2]);
        assert!(parse_citations("[1]", 0).is_empty());
    }

    #[test]
    fn non_citations_are_ignored() {
        assert!(parse_citations("see [the docs](x.md) and [sic]", 5).is_empty());
        assert!(parse_citations("[] [,] [1,] [3-1] [1-] [-2] [1 2]", 5).is_empty());
        assert!(parse_citations("unclosed [1", 5).is_empty());
        assert_eq!(parse_citations("[[1]] [x[2]", 5), [1, 2]);
        assert_eq!(parse_citations("Année [1] — ok [2]", 5), [1, 2]);
    }
}
