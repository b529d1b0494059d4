//! The language of a text (trigram statistics, `whatlang`) and the Snowball
//! stemmer for it, where one exists.

use rust_stemmers::{Algorithm, Stemmer};
use whatlang::Lang;

/// A detected language, stored as its ISO 639-3 code (`"eng"`, `"fra"`, `"jpn"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Language(Lang);

impl Language {
    /// English: the language of English-only embedding models.
    pub const ENGLISH: Language = Language(Lang::Eng);

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
    pub fn detect(text: &str) -> Option<Self> {
        whatlang::detect(text)
            .filter(|info| info.is_reliable())
            .map(|info| Language(info.lang()))
    }

    /// The language of a text in a script other than Latin, when the
    /// detector is confident ([`QUERY_CONFIDENCE`]): scripts narrow it down
    /// to a few languages, so even a short question is placed.
    fn of_script(text: &str) -> Option<Self> {
        whatlang::detect(text)
            .filter(|info| info.confidence() >= QUERY_CONFIDENCE)
            .map(|info| Language(info.lang()))
    }

    /// The most likely of `candidates` for `text` (a query: too short for
    /// open detection, but choosing among the store's few languages works),
    /// if the detector's confidence reaches `min_confidence`. A single
    /// candidate is taken as it is.
    pub(super) fn detect_among(
        text: &str,
        candidates: &[Language],
        min_confidence: f64,
    ) -> Option<Self> {
        if candidates.len() < 2 {
            return candidates.first().copied();
        }
        whatlang::Detector::with_allowlist(candidates.iter().map(|l| l.0).collect())
            .detect(text)
            .filter(|info| info.confidence() >= min_confidence)
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

/// The languages of a store's chunks, from which queries are analysed: a
/// query is stemmed as its own language (detected among these) and as the
/// store's main stemming, so a French query meets French-stemmed text at
/// French-only statistics, and an English question still meets the terms
/// the French pages share with it (measured, README).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreLanguages {
    /// Detected languages holding at least [`MIN_SHARE_PERCENT`] of the chunks.
    candidates: Vec<Language>,
    /// The stemmings holding at least that share (`None`: unstemmed).
    stemmings: Vec<Option<Language>>,
    /// The stemming most chunks have.
    main: Option<Language>,
    /// Detected languages holding at least [`MAIN_SHARE_PERCENT`] of the chunks.
    written_in: Vec<Language>,
}

/// Detector confidence from which a query's language is believed. Short
/// questions are hard to place: without it 26 of 121 English questions over
/// French pages came out "French", at 0.5 only 3, while 400 of 423 French
/// questions stay French (manpages-fr).
const QUERY_CONFIDENCE: f64 = 0.5;

/// A language with at least this share of the chunks is one the store is
/// written in. Smaller shares are mostly code and lists of names detected
/// as some language (a Japanese manual: 3 % "French", 1.5 % "Latin").
const MAIN_SHARE_PERCENT: usize = 10;

/// A language with less of the chunks is left out of query analysis: a few
/// misdetected chunks must not add their stems to every query.
pub const MIN_SHARE_PERCENT: usize = 1;

impl StoreLanguages {
    /// From the number of chunks per detected language (`None`: unsure).
    pub fn from_counts(counts: impl IntoIterator<Item = (Option<Language>, usize)>) -> Self {
        let counts: Vec<(Option<Language>, usize)> = counts.into_iter().collect();
        let total: usize = counts.iter().map(|(_, n)| n).sum();
        let enough = |n: usize| n > 0 && n * 100 >= total * MIN_SHARE_PERCENT;
        let mut stemming: Vec<(Option<Language>, usize)> = Vec::new();
        for &(language, n) in &counts {
            let key = language.filter(|l| l.has_stemmer());
            match stemming.iter_mut().find(|(k, _)| *k == key) {
                Some((_, m)) => *m += n,
                None => stemming.push((key, n)),
            }
        }
        let share = |percent: usize| {
            let mut languages: Vec<Language> = counts
                .iter()
                .filter(|(_, n)| *n > 0 && n * 100 >= total * percent)
                .filter_map(|(l, _)| *l)
                .collect();
            languages.sort_by_key(|l| l.code());
            languages.dedup();
            languages
        };
        let candidates = share(MIN_SHARE_PERCENT);
        let written_in = share(MAIN_SHARE_PERCENT);
        let main = stemming
            .iter()
            .max_by_key(|(_, n)| *n)
            .and_then(|(l, _)| *l);
        let mut stemmings: Vec<Option<Language>> = stemming
            .into_iter()
            .filter(|(_, n)| enough(*n))
            .map(|(l, _)| l)
            .collect();
        stemmings.sort_by_key(|l| l.map(|l| l.code()));
        StoreLanguages {
            candidates,
            stemmings,
            main,
            written_in,
        }
    }

    /// The stemmings to analyse `query` with.
    pub(super) fn stemmings_for(&self, query: &str) -> Vec<Option<Language>> {
        match Language::detect_among(query, &self.candidates, 0.0) {
            Some(own) => {
                let mut states = vec![Some(own).filter(|l| l.has_stemmer()), self.main];
                states.dedup();
                states
            }
            None if self.stemmings.is_empty() => vec![self.main],
            None => self.stemmings.clone(),
        }
    }

    /// The language of `query`, chosen among the languages the store is
    /// written in and English (the language a question is most often asked
    /// in, whatever the notes are written in). `None` when the detector's
    /// confidence is below [`QUERY_CONFIDENCE`]; English when it is the
    /// only candidate.
    pub fn query_language(&self, query: &str) -> Option<Language> {
        let mut candidates = self.written_in.clone();
        if !candidates.contains(&Language::ENGLISH) {
            candidates.push(Language::ENGLISH);
        }
        Language::detect_among(query, &candidates, QUERY_CONFIDENCE)
    }

    /// Whether `query` is in English: not when more than a quarter of its
    /// letters are of another script than Latin (a Japanese question
    /// naming a Latin-script command is Japanese), otherwise as
    /// [`query_language`](Self::query_language) says (English when unsure).
    pub fn is_english_query(&self, query: &str) -> bool {
        !mostly_other_script(query)
            && self
                .query_language(query)
                .is_none_or(|l| l == Language::ENGLISH)
    }

    /// The language to answer `question` in: that of its script when more
    /// than a quarter of its letters are not Latin, otherwise as
    /// [`query_language`](Self::query_language) says. Open detection is
    /// not trusted on short Latin-script questions ("What brew temperature
    /// do I use for espresso?" comes out Portuguese).
    pub fn answer_language(&self, question: &str) -> Option<Language> {
        if mostly_other_script(question) {
            Language::of_script(question)
        } else {
            self.query_language(question)
        }
    }

    /// Every stemming present (for reports).
    pub fn stemmings(&self) -> &[Option<Language>] {
        &self.stemmings
    }

    /// The languages a query's is chosen among (for reports).
    pub fn candidates(&self) -> &[Language] {
        &self.candidates
    }
}

/// Whether more than a quarter of the letters of `text` are not Latin.
fn mostly_other_script(text: &str) -> bool {
    let (mut letters, mut latin) = (0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        latin += usize::from(is_latin(c));
    }
    latin * 4 < letters * 3
}

/// Whether a letter is Latin (Basic Latin to Latin Extended-B, and Latin
/// Extended Additional).
fn is_latin(c: char) -> bool {
    c <= '\u{024F}' || ('\u{1E00}'..='\u{1EFF}').contains(&c)
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
    fn query_language_is_chosen_among_the_store_languages_and_english() {
        let fr = Language::from_code("fra").unwrap();
        let ja = Language::from_code("jpn").unwrap();
        let lat = Language::from_code("lat").unwrap();
        let french = StoreLanguages::from_counts([(Some(fr), 90), (Some(lat), 5), (None, 5)]);
        assert_eq!(
            french.query_language("Afficher le nom de l'architecture matérielle de la machine"),
            Some(fr)
        );
        assert_eq!(
            french.query_language("Print the name of the machine hardware architecture"),
            Some(Language::ENGLISH)
        );
        let japanese = StoreLanguages::from_counts([(Some(ja), 100)]);
        assert_eq!(
            japanese.query_language("ファイルの一覧を表示する"),
            Some(ja)
        );
        assert_eq!(
            japanese.query_language("list the files of a directory"),
            Some(Language::ENGLISH)
        );
        assert!(japanese.is_english_query("list the files of a directory"));
        assert!(!japanese.is_english_query("bash のバグを報告する"));
        assert!(!french.is_english_query("Afficher le nom de la machine"));
        assert!(french.is_english_query("ls"));
        // Answers: among the store's languages for Latin script, by script
        // otherwise, whatever the notes are written in.
        let english = StoreLanguages::from_counts([(Some(Language::ENGLISH), 100)]);
        let espresso = "What brew temperature do I use for espresso?";
        assert_eq!(english.answer_language(espresso), Some(Language::ENGLISH));
        assert_eq!(
            english.answer_language("ファイルの一覧を表示するにはどのコマンドを使いますか？"),
            Some(ja)
        );
        assert_eq!(
            french.answer_language("Quelle commande permet de lister les périphériques USB ?"),
            Some(fr)
        );
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
