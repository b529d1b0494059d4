//! The engine on a GGUF embedding model (multilingual-e5-small on llama.cpp):
//! chosen by the model path, recorded in the store, and searching across
//! languages.

mod common;

use common::{config, file_name, models_dir, top_paths};
use trove::{Engine, EngineConfig, ErrorKind, SearchMode};

fn e5_config(store: &std::path::Path) -> EngineConfig {
    let mut config = config(store);
    config.models.embedding_dir = trove::ModelPaths::multilingual_embedding(models_dir());
    config
}

#[test]
fn a_gguf_embedding_model_finds_notes_in_other_languages() {
    let store = tempfile::tempdir().unwrap();
    let engine = Engine::open(e5_config(store.path())).unwrap();
    let stats = engine.stats().unwrap();
    assert_eq!(stats.embedding_model.name, "multilingual-e5-small");
    assert_eq!(stats.embedding_model.dimensions, 384);

    let notes = [
        (
            "ferry.md",
            "Fähre",
            "Die Fähre nach Helgoland legt jeden Morgen um 7:40 Uhr im Hafen ab.",
        ),
        (
            "bread.md",
            "Pain",
            "Pour le pain au levain, laissez lever la pâte toute une nuit au réfrigérateur.",
        ),
        (
            "garden.md",
            "庭",
            "トマトの苗は五月の終わりに日当たりの良い場所に植えます。",
        ),
        (
            "tax.md",
            "税务",
            "个人所得税的申报截止日期是每年的六月三十日。",
        ),
    ];
    for (id, title, text) in notes {
        engine
            .add_text(id, title, text, &Default::default())
            .unwrap();
    }
    for (query, expected) in [
        ("When does the boat to the island leave?", "ferry.md"),
        ("How long should sourdough rise?", "bread.md"),
        ("When do I plant tomatoes?", "garden.md"),
        ("income tax filing deadline", "tax.md"),
    ] {
        let top = top_paths(&engine, query, SearchMode::Vector, 1);
        assert_eq!(file_name(&top[0]), expected, "{query}");
    }
}

#[test]
fn a_store_remembers_its_gguf_model() {
    let store = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(e5_config(store.path())).unwrap();
        engine
            .add_text(
                "a",
                "A",
                "Der Hafen ist im Winter geschlossen.",
                &Default::default(),
            )
            .unwrap();
    }
    // The default (MiniLM on ONNX Runtime) is another model: refused...
    let err = Engine::open(config(store.path())).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::IncompatibleStore, "{err}");
    assert!(err.message().contains("multilingual-e5-small"), "{err}");
    // ...and the GGUF model opens it again.
    let engine = Engine::open(e5_config(store.path())).unwrap();
    let top = top_paths(
        &engine,
        "Is the harbour open in winter?",
        SearchMode::Vector,
        1,
    );
    assert_eq!(top, vec!["a".to_string()]);
}

#[test]
fn a_missing_or_wrong_gguf_is_a_clear_error() {
    let store = tempfile::tempdir().unwrap();
    let mut missing = config(store.path());
    missing.models.embedding_dir = store.path().join("no-such-model.gguf");
    let err = Engine::open(missing).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.message().contains("no-such-model.gguf"), "{err}");

    let mut wrong = config(store.path());
    let fake = store.path().join("fake.gguf");
    std::fs::write(&fake, "GGUF but nothing else").unwrap();
    wrong.models.embedding_dir = fake;
    let err = Engine::open(wrong).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Model, "{err}");
}
