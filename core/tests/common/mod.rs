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

/// Answer-model layers the tests offload: all of them in a `vulkan` build
/// (`make gpu-test` runs the answer tests so, on Mesa's lavapipe), none
/// otherwise.
pub const GPU_LAYERS: u32 = if cfg!(feature = "vulkan") { 999 } else { 0 };

pub fn config(store: &Path) -> EngineConfig {
    let mut config = EngineConfig::new(store, models_dir());
    config.threads = 1;
    config.gpu_layers = GPU_LAYERS;
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

/// A zip of `(name, bytes)` entries, deflated (DOCX, ODT, EPUB test files).
pub fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A Word document of `(style id, text)` paragraphs ("" for body text).
pub fn docx_bytes(paragraphs: &[(&str, &str)]) -> Vec<u8> {
    let body: String = paragraphs
        .iter()
        .map(|(style, text)| {
            let props = if style.is_empty() {
                String::new()
            } else {
                format!("<w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>")
            };
            format!("<w:p>{props}<w:r><w:t>{text}</w:t></w:r></w:p>")
        })
        .collect();
    let document = format!(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}</w:body></w:document>"
    );
    zip_bytes(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", document.as_bytes()),
    ])
}

/// An OpenDocument text with `body` inside `office:text`.
pub fn odt_bytes(body: &str) -> Vec<u8> {
    let content = format!(
        "<?xml version=\"1.0\"?><office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\"><office:body><office:text>{body}</office:text></office:body></office:document-content>"
    );
    zip_bytes(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.as_bytes()),
    ])
}

/// An EPUB whose chapters (XHTML bodies) are read in the given order.
pub fn epub_bytes(title: &str, chapters: &[&str]) -> Vec<u8> {
    let container = "<container xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\"><rootfiles><rootfile full-path=\"OEBPS/book.opf\"/></rootfiles></container>";
    let items: String = (0..chapters.len())
        .map(|i| {
            format!("<item id=\"c{i}\" href=\"c{i}.xhtml\" media-type=\"application/xhtml+xml\"/>")
        })
        .collect();
    let spine: String = (0..chapters.len())
        .map(|i| format!("<itemref idref=\"c{i}\"/>"))
        .collect();
    let opf = format!(
        "<package xmlns=\"http://www.idpf.org/2007/opf\"><metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{title}</dc:title></metadata><manifest>{items}</manifest><spine>{spine}</spine></package>"
    );
    let pages: Vec<(String, String)> = chapters
        .iter()
        .enumerate()
        .map(|(i, body)| {
            (
                format!("OEBPS/c{i}.xhtml"),
                format!("<html xmlns=\"http://www.w3.org/1999/xhtml\"><body>{body}</body></html>"),
            )
        })
        .collect();
    let mut entries: Vec<(&str, &[u8])> = vec![
        ("mimetype", b"application/epub+zip"),
        ("META-INF/container.xml", container.as_bytes()),
        ("OEBPS/book.opf", opf.as_bytes()),
    ];
    entries.extend(pages.iter().map(|(n, b)| (n.as_str(), b.as_bytes())));
    zip_bytes(&entries)
}
