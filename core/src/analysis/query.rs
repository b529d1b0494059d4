//! An analysed query and its FTS5 match expression.

/// One query term.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Term {
    /// The analysed term.
    pub text: String,
    /// Matches every stored term starting with `text`.
    pub prefix: bool,
}

impl Term {
    pub(super) fn exact(text: String) -> Self {
        Term {
            text,
            prefix: false,
        }
    }

    pub(super) fn prefix(text: String) -> Self {
        Term { text, prefix: true }
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
        self.terms
            .iter()
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
}
