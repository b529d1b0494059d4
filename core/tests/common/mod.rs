//! Shared set-up for the integration tests: real models, real files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use trove::{Engine, EngineConfig, IndexOptions, IndexSummary, SearchMode, SearchOptions};

/// The models directory (`TROVE_MODELS`, else the repository's `models/`).
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("TROVE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"));
    assert!(
        dir.join("SmolLM2-135M-Instruct.Q4_1.gguf").is_file(),
        "models not found in {}: run `make setup` (or set TROVE_MODELS)",
        dir.display()
    );
    dir
}

pub fn config(store: &Path) -> EngineConfig {
    let mut config = EngineConfig::new(store, models_dir());
    config.threads = 1;
    config
}

pub fn open(store: &Path) -> Engine {
    Engine::open(config(store)).expect("engine opens")
}

pub fn index(engine: &Engine, path: &Path) -> IndexSummary {
    engine
        .index_path(path, IndexOptions::default())
        .expect("indexing succeeds")
}

/// Paths of the top `k` hits (one per document) for `query` in `mode`.
pub fn top_paths(engine: &Engine, query: &str, mode: SearchMode, k: usize) -> Vec<String> {
    let options = SearchOptions {
        k,
        mode,
        one_per_document: true,
        ..Default::default()
    };
    engine
        .search(query, &options)
        .expect("search succeeds")
        .into_iter()
        .map(|h| h.path.unwrap_or(h.document_id))
        .collect()
}

pub fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// A real PDF with one text page per entry of `pages`, written with lopdf.
pub fn pdf_bytes(pages: &[&str]) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};

    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for text in pages {
        let mut operations = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![50.into(), 760.into()]),
        ];
        for line in text.lines() {
            operations.push(Operation::new("Tj", vec![Object::string_literal(line)]));
            operations.push(Operation::new("T*", vec![]));
        }
        operations.push(Operation::new("ET", vec![]));
        let content = Content { operations };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        let page_id = doc.add_object(dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "Contents" => content_id,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        });
        kids.push(page_id.into());
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog_id);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}
