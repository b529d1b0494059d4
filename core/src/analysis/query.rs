//! An analysed query and its FTS5 match expression.

/// One query term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// The analysed term.
    pub text: String,
    /// Matches every stored term starting with `text`.
    pub prefix: bool,
    /// A grapheme pair or single of an unspaced run (else a word or emoji).
    pub gram: bool,
}

impl Term {
    pub(super) fn word(text: String) -> Self {
        Term {
            text,
            prefix: false,
            gram: false,
        }
    }

    pub(super) fn gram(text: String, prefix: bool) -> Self {
        Term {
            text,
            prefix,
            gram: true,
        }
    }
}

/// The terms of a query, deduplicated, in order; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    terms: Vec<Term>,
}

impl Query {
    /// `None` when no term is left.
    pub(super) fn new(terms: Vec<Term>) -> Option<Self> {
        let mut seen = std::collections::HashSet::new();
        let terms: Vec<Term> = terms
            .into_iter()
            .filter(|t| !t.text.is_empty() && seen.insert(t.clone()))
            .collect();
        (!terms.is_empty()).then_some(Query { terms })
    }

    pub fn terms(&self) -> &[Term] {
        &self.terms
    }

    /// An FTS5 expression matching any of the terms, each quoted so no term
    /// is read as FTS5 syntax (`"a" OR "b" OR "c" *`).
    pub fn fts5_match(&self) -> String {
        fts5_any(self.terms.iter())
    }

    /// The expression for the word terms only (`None`: the query has none).
    pub fn fts5_words(&self) -> Option<String> {
        let words: Vec<&Term> = self.terms.iter().filter(|t| !t.gram).collect();
        (!words.is_empty()).then(|| fts5_any(words.into_iter()))
    }

    /// The expression for the gram terms only (`None`: the query has none).
    pub fn fts5_grams(&self) -> Option<String> {
        let grams: Vec<&Term> = self.terms.iter().filter(|t| t.gram).collect();
        (!grams.is_empty()).then(|| fts5_any(grams.into_iter()))
    }

    /// An FTS5 expression matching any of `terms` (some of a query's).
    pub fn fts5_any_of<'t>(terms: impl IntoIterator<Item = &'t Term>) -> String {
        fts5_any(terms.into_iter())
    }
}

fn fts5_any<'t>(terms: impl Iterator<Item = &'t Term>) -> String {
    terms
        .map(|t| {
            let quoted = format!("\"{}\"", t.text.replace('"', "\"\""));
            if t.prefix {
                format!("{quoted} *")
            } else {
                quoted
            }
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}
