//! Documents written in the tests, part by part, with the zip crate: no
//! file comes from outside; and what the tests compare their blocks by.

use std::io::{Cursor, Write};

use super::Block;

/// Each block's heading path (joined by " > "), text and locator, as the
/// tests of formats with locators compare them.
pub(crate) fn located(blocks: &[Block]) -> Vec<(String, String, String)> {
    blocks
        .iter()
        .map(|b| {
            (
                b.heading_path.join(" > "),
                b.text.clone(),
                b.locator.as_ref().unwrap().to_string(),
            )
        })
        .collect()
}

/// A zip of `(name, bytes)` entries, deflated, written with the zip crate.
pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const DOCX_NS: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\" xmlns:mc=\"http://schemas.openxmlformats.org/markup-compatibility/2006\"";

/// A .docx with `body` as the document body and optional styles and title.
pub(crate) fn docx(body: &str, styles: Option<&str>, title: Option<&str>) -> Vec<u8> {
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?><w:document {DOCX_NS}><w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let rels = "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    let mut parts: Vec<(String, Vec<u8>)> = vec![
        ("[Content_Types].xml".into(), b"<Types/>".to_vec()),
        ("_rels/.rels".into(), rels.as_bytes().to_vec()),
        ("word/document.xml".into(), document.into_bytes()),
    ];
    if let Some(styles) = styles {
        parts.push((
            "word/styles.xml".into(),
            format!("<w:styles {DOCX_NS}>{styles}</w:styles>").into_bytes(),
        ));
    }
    if let Some(title) = title {
        let core = format!(
            "<cp:coreProperties xmlns:cp=\"c\" xmlns:dc=\"d\"><dc:title>{title}</dc:title><dc:creator>Ada</dc:creator></cp:coreProperties>"
        );
        parts.push(("docProps/core.xml".into(), core.into_bytes()));
    }
    let refs: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&refs)
}

const ODT_NS: &str = "xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\" xmlns:text=\"urn:oasis:names:tc:opendocument:xmlns:text:1.0\" xmlns:table=\"urn:oasis:names:tc:opendocument:xmlns:table:1.0\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"";

pub(crate) fn odt(body: &str, title: Option<&str>) -> Vec<u8> {
    let content = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><office:document-content {ODT_NS}><office:body><office:text>{body}</office:text></office:body></office:document-content>"
    );
    let meta = title.map(|t| format!("<office:document-meta {ODT_NS}><office:meta><dc:title>{t}</dc:title></office:meta></office:document-meta>"));
    let mut parts: Vec<(&str, &[u8])> = vec![
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", content.as_bytes()),
    ];
    if let Some(meta) = meta.as_ref() {
        parts.push(("meta.xml", meta.as_bytes()));
    }
    zip_of(&parts)
}

/// An EPUB with chapters `(path under OEBPS, xhtml)` in spine order.
pub(crate) fn epub(chapters: &[(&str, &str)], title: &str) -> Vec<u8> {
    let container = "<?xml version=\"1.0\"?><container version=\"1.0\" xmlns=\"urn:oasis:names:tc:opendocument:xmlns:container\"><rootfiles><rootfile full-path=\"OEBPS/content.opf\" media-type=\"application/oebps-package+xml\"/></rootfiles></container>";
    let items: String = chapters
        .iter()
        .enumerate()
        .map(|(i, (href, _))| {
            format!(
                "<item id=\"c{i}\" href=\"{}\" media-type=\"application/xhtml+xml\"/>",
                href.replace(' ', "%20")
            )
        })
        .collect();
    let refs: String = (0..chapters.len())
        .rev()
        .map(|i| format!("<itemref idref=\"c{i}\"/>"))
        .collect();
    let opf = format!(
        "<?xml version=\"1.0\"?><package xmlns=\"http://www.idpf.org/2007/opf\" version=\"3.0\"><metadata xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:title>{title}</dc:title><dc:creator>Ann</dc:creator><dc:creator>Bo</dc:creator><dc:language>en</dc:language></metadata><manifest><item id=\"css\" href=\"style.css\" media-type=\"text/css\"/>{items}</manifest><spine>{refs}</spine></package>"
    );
    let mut parts: Vec<(String, Vec<u8>)> = vec![
        ("mimetype".into(), b"application/epub+zip".to_vec()),
        (
            "META-INF/container.xml".into(),
            container.as_bytes().to_vec(),
        ),
        ("OEBPS/content.opf".into(), opf.into_bytes()),
    ];
    for (href, xhtml) in chapters {
        parts.push((format!("OEBPS/{href}"), xhtml.as_bytes().to_vec()));
    }
    let refs: Vec<(&str, &[u8])> = parts
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&refs)
}

pub(crate) fn chapter(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE html><html xmlns=\"http://www.w3.org/1999/xhtml\" xmlns:epub=\"http://www.idpf.org/2007/ops\"><head><title>x</title></head><body>{body}</body></html>"
    )
}
