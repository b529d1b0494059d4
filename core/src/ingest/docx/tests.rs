//! Word documents written in the test, part by part.

use super::*;
use crate::ingest::testdata::{docx, located, zip_of};

fn p(style: &str, text: &str) -> String {
    let props = if style.is_empty() {
        String::new()
    } else {
        format!("<w:pPr><w:pStyle w:val=\"{style}\"/></w:pPr>")
    };
    format!("<w:p>{props}<w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

fn parse_docx(bytes: &[u8]) -> Result<ParsedDocument, SkipReason> {
    parse(bytes, "stem", &IngestLimits::default())
}

/// German Word names its heading styles "berschrift1" by id: the style's
/// name says what it is.
const STYLES: &str = r#"<w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>
<w:style w:type="paragraph" w:styleId="Custom2"><w:name w:val="My Section"/><w:basedOn w:val="Base2"/></w:style>
<w:style w:type="paragraph" w:styleId="Base2"><w:name w:val="Base"/><w:pPr><w:outlineLvl w:val="1"/></w:pPr></w:style>
<w:style w:type="paragraph" w:styleId="Loop"><w:name w:val="Loop"/><w:basedOn w:val="Loop"/></w:style>
<w:style w:type="paragraph" w:styleId="Verzeichnis1"><w:name w:val="toc 1"/></w:style>"#;

#[test]
fn headings_lists_tables_and_title() {
    let body = [
        p("Title", "Boiler handbook"),
        p("Verzeichnis1", "Contents entry 1"),
        p("berschrift1", "Servicing"),
        "<w:p><w:r><w:t>Once a </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>year</w:t></w:r><w:r><w:tab/><w:t>call</w:t><w:br/><w:t>the engineer</w:t></w:r><w:del><w:r><w:delText>never</w:delText></w:r></w:del></w:p>".to_string(),
        "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"0\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr><w:r><w:t>check pressure</w:t></w:r></w:p>".to_string(),
        "<w:p><w:pPr><w:numPr><w:ilvl w:val=\"1\"/><w:numId w:val=\"1\"/></w:numPr></w:pPr><w:r><w:t>1.5 bar</w:t></w:r></w:p>".to_string(),
        p("Custom2", "Parts"),
        "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Part</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Price</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>Valve</w:t></w:r></w:p><w:p><w:r><w:t>(brass)</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>12 €</w:t></w:r></w:p></w:tc></w:tr></w:tbl>".to_string(),
        p("Loop", "Looping style is body text"),
        "<w:p><w:pPr><w:outlineLvl w:val=\"2\"/></w:pPr><w:r><w:t>Direct outline</w:t></w:r></w:p>".to_string(),
        p("", "Under it &amp; more"),
    ]
    .concat();
    let doc = parse_docx(&docx(&body, Some(STYLES), None)).unwrap();
    assert_eq!(doc.kind, SourceKind::Docx);
    assert_eq!(doc.title, "Boiler handbook");
    assert_eq!(
        located(&doc.blocks),
        [
            // The title has nothing under it before the next level-1 heading: its text is kept.
            (
                "Boiler handbook".into(),
                "Boiler handbook".into(),
                "¶ 1".into()
            ),
            (
                "Servicing".into(),
                "Once a year call\nthe engineer".into(),
                "¶ 3".into()
            ),
            (
                "Servicing".into(),
                "- check pressure\n  - 1.5 bar".into(),
                "¶ 4–5".into()
            ),
            (
                "Servicing > Parts".into(),
                "Part | Price\nValve (brass) | 12 €".into(),
                "¶ 7–11".into()
            ),
            (
                "Servicing > Parts".into(),
                "Looping style is body text".into(),
                "¶ 12".into()
            ),
            (
                "Servicing > Parts > Direct outline".into(),
                "Under it & more".into(),
                "¶ 14".into()
            ),
        ]
    );
    assert!(!doc.blocks.iter().any(|b| b.text.contains("Contents entry")));
}

#[test]
fn properties_give_title_and_author() {
    let doc = parse_docx(&docx(&p("", "text"), None, Some("From properties"))).unwrap();
    assert_eq!(doc.title, "From properties");
    assert_eq!(doc.metadata["author"], "Ada");
    let doc = parse_docx(&docx(
        &[p("Heading2", "Styles missing"), p("", "x")].concat(),
        None,
        None,
    ))
    .unwrap();
    assert_eq!(doc.title, "Styles missing");
    assert_eq!(doc.blocks[0].heading_path, ["Styles missing"]);
}

#[test]
fn text_boxes_and_nested_tables_are_read_once() {
    let body = "<w:p><w:r><w:t>Main</w:t></w:r><w:r><mc:AlternateContent><mc:Choice><w:drawing><w:txbxContent><w:p><w:r><w:t>Box text</w:t></w:r></w:p></w:txbxContent></w:drawing></mc:Choice><mc:Fallback><w:pict><w:txbxContent><w:p><w:r><w:t>Box text</w:t></w:r></w:p></w:txbxContent></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>\
<w:tbl><w:tr><w:tc><w:tbl><w:tr><w:tc><w:p><w:r><w:t>in</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>ner</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:tc><w:tc><w:p><w:r><w:t>outer</w:t></w:r></w:p></w:tc></w:tr></w:tbl>";
    let doc = parse_docx(&docx(body, None, None)).unwrap();
    let texts: Vec<&str> = doc.blocks.iter().map(|b| b.text.as_str()).collect();
    assert_eq!(texts, ["Box text", "Main", "in | ner | outer"]);
}

#[test]
fn contents_controls_marked_as_toc_are_skipped() {
    let body = format!(
        "<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val=\"Table of Contents\"/></w:docPartObj></w:sdtPr><w:sdtContent>{}</w:sdtContent></w:sdt>{}",
        p("", "Chapter 1 ........ 3"),
        p("", "Body")
    );
    let doc = parse_docx(&docx(&body, None, None)).unwrap();
    assert_eq!(
        located(&doc.blocks),
        [(String::new(), "Body".into(), "¶ 1".into())]
    );
}

#[test]
fn bad_documents_have_reasons() {
    let empty = parse_docx(&docx(
        "<w:p/><w:p><w:r><w:t> </w:t></w:r></w:p>",
        None,
        None,
    ))
    .unwrap_err();
    assert_eq!(empty.code(), "no_text");
    let no_body = zip_of(&[("[Content_Types].xml", b"<Types/>")]);
    let err = parse_docx(&no_body).unwrap_err();
    assert_eq!(err.code(), "archive_corrupt");
    assert!(err.to_string().contains("word/document.xml"), "{err}");
    let broken = docx("<w:p><w:r><w:t>unclosed</w:r></w:p>", None, None);
    assert_eq!(parse_docx(&broken).unwrap_err().code(), "malformed");
    let bomb_xml = "<!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><w:document><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>";
    let bytes = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", bomb_xml.as_bytes()),
    ]);
    assert_eq!(parse_docx(&bytes).unwrap_err(), SkipReason::XmlEntities);
}
