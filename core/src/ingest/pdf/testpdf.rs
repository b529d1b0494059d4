//! Builds small real PDFs for the unit tests with lopdf's writer.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};

pub(crate) enum Page<'a> {
    /// Paragraphs in Helvetica, 48 units apart.
    Text(&'a [&'a str]),
    /// Only a filled rectangle: a page that needs OCR.
    Drawing,
}

pub(crate) fn make_pdf(pages: &[Page<'_>], title: Option<&str>) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "Type1",
        "BaseFont" => "Helvetica",
    });
    let resources_id = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => font_id },
    });
    let mut kids = Vec::new();
    for page in pages {
        let operations = match page {
            Page::Text(paragraphs) => {
                let mut ops = vec![
                    Operation::new("BT", vec![]),
                    Operation::new("Tf", vec!["F1".into(), 12.into()]),
                    Operation::new("Td", vec![72.into(), 720.into()]),
                ];
                for (i, text) in paragraphs.iter().enumerate() {
                    if i > 0 {
                        ops.push(Operation::new("Td", vec![0.into(), (-48).into()]));
                    }
                    ops.push(Operation::new("Tj", vec![Object::string_literal(*text)]));
                }
                ops.push(Operation::new("ET", vec![]));
                ops
            }
            Page::Drawing => vec![
                Operation::new("re", vec![100.into(), 100.into(), 200.into(), 150.into()]),
                Operation::new("f", vec![]),
            ],
        };
        let content = Content { operations };
        let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
        kids.push(
            doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => pages_id,
                "Contents" => content_id,
            })
            .into(),
        );
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => kids,
            "Count" => count,
            "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! {
        "Type" => "Catalog",
        "Pages" => pages_id,
    });
    doc.trailer.set("Root", catalog_id);
    if let Some(title) = title {
        let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
        doc.trailer.set("Info", info_id);
    }
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}
