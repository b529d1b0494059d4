//! Advance widths of the standard fonts (Helvetica, Times, Courier, Symbol,
//! ZapfDingbats and their usual aliases), which a PDF may use without
//! `/Widths`: word gaps are only right with the real advances. Data from
//! Adobe's Core 14 AFM metrics (std14widths.txt, licence inside).

use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("std14widths.txt");

/// Widths of one standard font.
pub(super) enum Metrics {
    /// Courier: every glyph 600.
    Mono,
    Proportional(&'static HashMap<char, u16>),
}

fn tables() -> &'static HashMap<&'static str, HashMap<char, u16>> {
    static TABLES: OnceLock<HashMap<&'static str, HashMap<char, u16>>> = OnceLock::new();
    TABLES.get_or_init(|| {
        TABLE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, pairs) = l.split_once('\t')?;
                let widths = pairs
                    .split(' ')
                    .filter_map(|p| {
                        let (c, w) = p.split_once(':')?;
                        let c = char::from_u32(u32::from_str_radix(c, 16).ok()?)?;
                        Some((c, w.parse().ok()?))
                    })
                    .collect();
                Some((name, widths))
            })
            .collect()
    })
}

/// The metrics for a `/BaseFont` name (subset prefix already removed), by
/// the families' names as producers write them (`Arial,Bold`,
/// `TimesNewRomanPS-ItalicMT`, `Helvetica-Oblique`).
pub(super) fn metrics(base_font: &[u8]) -> Option<Metrics> {
    let name = String::from_utf8_lossy(base_font).to_ascii_lowercase();
    if name.contains("courier") {
        return Some(Metrics::Mono);
    }
    let bold = name.contains("bold") || name.contains("black") || name.contains("heavy");
    let slanted = name.contains("italic") || name.contains("oblique");
    let key = if name.contains("helvetica") || name.contains("arial") {
        match (bold, slanted) {
            (false, false) => "Helvetica",
            (true, false) => "Helvetica-Bold",
            (false, true) => "Helvetica-Oblique",
            (true, true) => "Helvetica-BoldOblique",
        }
    } else if name.contains("times") {
        match (bold, slanted) {
            (false, false) => "Times-Roman",
            (true, false) => "Times-Bold",
            (false, true) => "Times-Italic",
            (true, true) => "Times-BoldItalic",
        }
    } else if name.starts_with("symbol") {
        "Symbol"
    } else if name.contains("dingbats") {
        "ZapfDingbats"
    } else {
        return None;
    };
    tables().get(key).map(Metrics::Proportional)
}

#[cfg(test)]
mod tests {
    use super::{Metrics, metrics};

    #[test]
    fn standard_font_widths() {
        let Some(Metrics::Proportional(times)) = metrics(b"Times-Roman") else {
            panic!("Times-Roman has metrics");
        };
        assert_eq!(times.get(&' '), Some(&250));
        assert_eq!(times.get(&'W'), Some(&944));
        let Some(Metrics::Proportional(arial)) = metrics(b"Arial,Bold") else {
            panic!("Arial,Bold is Helvetica-Bold");
        };
        assert_eq!(arial.get(&'a'), Some(&556));
        assert!(matches!(metrics(b"CourierNewPSMT"), Some(Metrics::Mono)));
        assert!(metrics(b"Frutiger").is_none());
    }
}
