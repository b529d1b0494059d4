//! The analyser end to end, and bad input through it.

use super::*;

fn terms(text: &str) -> String {
    Analyzer::default().terms(text, None).joined()
}

fn fts(text: &str) -> String {
    Analyzer::default().query(text, &[]).unwrap().fts5_match()
}

#[test]
fn cjk_runs_become_pairs_and_a_last_single() {
    assert_eq!(terms("日本語"), "日本 本語 語");
    assert_eq!(terms("猫"), "猫");
    assert_eq!(fts("日本語"), "\"日本\" OR \"本語\"");
    assert_eq!(fts("猫"), "\"猫\" *");
}

#[test]
fn equal_text_in_other_spellings_gives_equal_terms() {
    assert_eq!(terms("ＡＢＣ Café"), terms("abc cafe\u{301}"));
    assert_eq!(terms("ｶﾀｶﾅ"), terms("カタカナ"));
    assert_eq!(terms("ÉLÈVE"), "eleve");
}

#[test]
fn words_are_folded_and_stemmed_in_the_language_given() {
    let a = Analyzer::default();
    let fr = Language::from_code("fra").unwrap();
    assert_eq!(
        a.terms("Les Fichiers", Some(fr)),
        a.terms("le fichier", Some(fr))
    );
    // Without a language nothing is stemmed.
    assert_eq!(a.terms("running files", None).words, "running files");
    // The query holds the word as each stored stemming would have it.
    let en = Language::from_code("eng").unwrap();
    let q = a.query("Running", &[None, Some(en), Some(fr)]).unwrap();
    let texts: Vec<&str> = q.terms().iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["running", "run"]);
}

#[test]
fn words_and_grams_are_kept_apart() {
    let t = Analyzer::default().terms("GPU 計算 🎉", None);
    assert_eq!(t.words, "gpu 🎉");
    assert_eq!(t.grams, "計算 算");
    let q = Analyzer::default().query("GPU 計算", &[]).unwrap();
    assert_eq!(q.fts5_words().unwrap(), "\"gpu\"");
    assert_eq!(q.fts5_grams().unwrap(), "\"計算\"");
    assert_eq!(
        Analyzer::default().query("gpu", &[]).unwrap().fts5_grams(),
        None
    );
}

#[test]
fn mixed_scripts_in_one_word_split_into_their_scripts() {
    assert_eq!(terms("ＧＰＵ計算"), "gpu 計算 算");
    assert_eq!(terms("Wi-Fi接続"), "wi fi 接続 続");
    assert_eq!(terms("Moskва"), "moskва");
    assert_eq!(terms("第3章"), "3 第 章"); // words first, then grams
}

#[test]
fn rendered_cjk_line_breaks_do_not_split_words() {
    assert_eq!(terms("ファイル\n    システム"), terms("ファイルシステム"));
    // A space typed in a query joins like a rendered one, and each side's
    // own terms are asked for too (a lone character as a prefix).
    assert_eq!(fts("ファイル システム"), fts("ファイルシステム"));
    assert_eq!(fts("本 猫"), "\"本猫\" OR \"本\" * OR \"猫\" *");
}

#[test]
fn emoji_and_zwj_sequences_are_terms() {
    let family = "👨\u{200D}👩\u{200D}👧";
    assert_eq!(
        terms(&format!("party{family}🎉")),
        format!("party {family} 🎉")
    );
    assert_eq!(fts("❤️"), fts("❤"));
}

#[test]
fn right_to_left_text_is_indexed_and_bidi_marks_ignored() {
    assert_eq!(terms("\u{202B}שָׁלוֹם עולם\u{202C}"), "שלום עולם");
    assert_eq!(terms("الكِتَابُ\u{200F}"), "الكتاب");
}

#[test]
fn combining_marks_fold_and_lone_marks_are_dropped() {
    assert_eq!(terms("\u{301}\u{308}"), "");
    assert_eq!(terms(&format!("z{}algo", "\u{336}".repeat(50))), "zalgo");
    assert_eq!(terms("hi\u{301}ndi हिन्दी"), "hindi हिन्दी");
}

#[test]
fn one_character_queries_match_as_a_prefix() {
    assert_eq!(fts("猫"), "\"猫\" *");
    assert_eq!(fts("a"), "\"a\"");
    let isolated = Analyzer::new(AnalyzerConfig {
        unigrams: Unigrams::Isolated,
        ..Default::default()
    });
    assert_eq!(isolated.terms("猫", None).grams, "猫");
    assert_eq!(isolated.terms("猫の", None).grams, "猫の");
}

#[test]
fn a_query_of_only_punctuation_is_a_clear_error() {
    for q in ["。、！？「」", "…", "   ", "—", "\u{200B}"] {
        let err = Analyzer::default().query(q, &[]).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no words to search for"), "{err}");
    }
}

/// Terms as FTS5 `ascii` reads them: proves the analysed text and the match
/// expression meet, for every script, in SQLite itself.
#[test]
fn analysed_terms_meet_in_fts5() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "CREATE VIRTUAL TABLE t USING fts5(text, content = '', contentless_delete = 1, tokenize = '{FTS5_TOKENIZER}')"
    ))
    .unwrap();
    let a = Analyzer::default();
    let docs = [
        "ファイルシステムの猫を削除する",
        "Ｃａｆé au lait",
        "👨\u{200D}👩\u{200D}👧 family",
        "مرحبا بالعالم",
        "日本語のテキスト",
    ];
    for (i, d) in docs.iter().enumerate() {
        conn.execute(
            "INSERT INTO t(rowid, text) VALUES (?1, ?2)",
            rusqlite::params![i as i64, a.terms(d, None).joined()],
        )
        .unwrap();
    }
    let hits = |q: &str| -> Vec<i64> {
        let m = a.query(q, &[]).unwrap().fts5_match();
        let mut stmt = conn
            .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
            .unwrap();
        stmt.query_map([m], |r| r.get(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    };
    assert_eq!(hits("猫"), [0]);
    assert_eq!(hits("る"), [0]); // the last character of a run
    assert_eq!(hits("システム"), [0]);
    assert_eq!(hits("cafe\u{301}"), [1]);
    assert_eq!(hits("👨\u{200D}👩\u{200D}👧"), [2]);
    assert_eq!(hits("بالعالم"), [3]);
    assert_eq!(hits("テキスト 猫"), [0, 4]);
    // Deleting from the contentless table works (contentless_delete).
    conn.execute("DELETE FROM t WHERE rowid = 0", []).unwrap();
    assert!(hits("猫").is_empty());
}

/// Random mixes of hard characters never panic and always give clean terms.
#[test]
fn arbitrary_text_never_panics_and_gives_clean_terms() {
    let alphabet: Vec<char> = "aZé\u{301}\u{308}ßΣς日本語かカ한ไทย👨\u{200D}👩\u{FE0F}🇫🇷\u{200F}\u{202E}\u{AD}שָׁالكِ।。！ \n\t-_.\"'*()\u{0}\u{FFFD}ＡＢ①ﬁ"
        .chars()
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let a = Analyzer::default();
    for _ in 0..2000 {
        let len = (seed % 24) as usize;
        let text: String = (0..len)
            .map(|_| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                alphabet[(seed >> 33) as usize % alphabet.len()]
            })
            .collect();
        let t = a.terms(&text, Language::from_code("eng")).joined();
        assert!(
            !t.contains("  ") && !t.starts_with(' ') && !t.ends_with(' '),
            "{t:?}"
        );
        assert!(
            !t.chars().any(|c| c.is_ascii_punctuation()),
            "{text:?} -> {t:?}"
        );
        if let Ok(q) = a.query(&text, &[]) {
            assert!(!q.fts5_match().is_empty());
        }
    }
}

#[test]
fn queries_are_stemmed_as_their_own_language_and_the_stores_main_one() {
    let (fr, en, ja) = ["fra", "eng", "jpn"]
        .map(|c| Language::from_code(c).unwrap())
        .into();
    let store =
        StoreLanguages::from_counts([(Some(fr), 900), (Some(en), 90), (None, 5), (Some(ja), 5)]);
    // 0.5 % Japanese chunks are below the 1 % share; with the 0.5 % unsure
    // ones they make 1 % unstemmed text.
    assert_eq!(store.candidates(), [en, fr]);
    assert_eq!(store.stemmings(), [None, Some(en), Some(fr)]);
    let a = Analyzer::default();
    let texts = |q: &str| -> Vec<String> {
        let q = a.query_for_store(q, &store).unwrap();
        q.terms().iter().map(|t| t.text.clone()).collect()
    };
    // A French question: French stems only (the main stemming is French too).
    assert_eq!(
        texts("Supprimer les fichiers temporaires"),
        ["supprim", "le", "fichi", "temporair"]
    );
    // An English one: English stems and French ones.
    let english = texts("remove temporary files");
    assert!(
        english.contains(&"temporari".to_string()) && english.contains(&"fil".to_string()),
        "{english:?}"
    );
    // Nothing to tell the language by: every stemming present.
    assert_eq!(texts("8859"), ["8859"]);
}
