//! The language of a text (trigram statistics, `whatlang`) and the Snowball
//! stemmer for it, where one exists.

use rust_stemmers::{Algorithm, Stemmer};
use whatlang::Lang;

/// A detected language, stored as its ISO 639-3 code (`"eng"`, `"fra"`, `"jpn"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(Lang);

impl Language {
    /// The ISO 639-3 code.
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// The language of an ISO 639-3 code, if `whatlang` knows it.
    pub fn from_code(code: &str) -> Option<Self> {
        Lang::from_code(code).map(Language)
    }

    /// Whether words of this language are stemmed.
    pub fn has_stemmer(self) -> bool {
        algorithm(self.0).is_some()
    }

    /// The language of `text`, when the detector is confident (short or
    /// mixed texts, code and lists of names often give none).
    pub(super) fn detect(text: &str) -> Option<Self> {
        whatlang::detect(text)
            .filter(|info| info.is_reliable())
            .map(|info| Language(info.lang()))
    }

    /// `word` (lower-case, diacritics still on) reduced to its stem.
    pub(super) fn stem(self, word: &str) -> String {
        match algorithm(self.0) {
            Some(a) => Stemmer::create(a).stem(word).into_owned(),
            None => word.to_string(),
        }
    }
}

/// The Snowball stemmer for a language, if there is one.
fn algorithm(lang: Lang) -> Option<Algorithm> {
    Some(match lang {
        Lang::Ara => Algorithm::Arabic,
        Lang::Dan => Algorithm::Danish,
        Lang::Nld => Algorithm::Dutch,
        Lang::Eng => Algorithm::English,
        Lang::Fin => Algorithm::Finnish,
        Lang::Fra => Algorithm::French,
        Lang::Deu => Algorithm::German,
        Lang::Ell => Algorithm::Greek,
        Lang::Hun => Algorithm::Hungarian,
        Lang::Ita => Algorithm::Italian,
        Lang::Nob => Algorithm::Norwegian,
        Lang::Por => Algorithm::Portuguese,
        Lang::Ron => Algorithm::Romanian,
        Lang::Rus => Algorithm::Russian,
        Lang::Spa => Algorithm::Spanish,
        Lang::Swe => Algorithm::Swedish,
        Lang::Tam => Algorithm::Tamil,
        Lang::Tur => Algorithm::Turkish,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_long_enough_text_and_round_trips_codes() {
        let fr = Language::detect(
            "La commande affiche la liste des fichiers du répertoire courant, triés par nom.",
        )
        .unwrap();
        assert_eq!(fr.code(), "fra");
        assert_eq!(Language::from_code("fra"), Some(fr));
        assert!(fr.has_stemmer());
        let ja = Language::detect("このコマンドはディレクトリの内容を一覧表示します。").unwrap();
        assert_eq!(ja.code(), "jpn");
        assert!(!ja.has_stemmer());
        assert_eq!(Language::from_code("xx"), None);
    }

    #[test]
    fn stems_in_the_language_given() {
        let fr = Language::from_code("fra").unwrap();
        assert_eq!(fr.stem("fichiers"), fr.stem("fichier"));
        let en = Language::from_code("eng").unwrap();
        assert_eq!(en.stem("running"), "run");
        let ja = Language::from_code("jpn").unwrap();
        assert_eq!(ja.stem("running"), "running");
    }
}
