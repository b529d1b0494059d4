//! A PDF extraction that runs past its time limit, or whose cancel token is
//! raised, stops the work itself: it returns its reason and leaves no thread
//! behind (counted in /proc/self/task). One test in this binary, so no other
//! test's threads come and go while it counts.

#![cfg(target_os = "linux")]

use std::path::Path;
use std::thread;
use std::time::Duration;

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, Stream, dictionary};
use trove::CancelToken;
use trove::ingest::{self, IngestLimits, SkipReason};

/// Many pages sharing one content stream of many lines: seconds of work.
fn long_pdf(pages: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut ops = vec![
        Operation::new("BT", vec![]),
        Operation::new("Tf", vec!["F1".into(), 9.into()]),
        Operation::new("TL", vec![10.into()]),
        Operation::new("Td", vec![40.into(), 780.into()]),
    ];
    for i in 0..70 {
        let line = format!("Line {i} with enough words to keep the interpreter busy for a while");
        ops.push(Operation::new("Tj", vec![Object::string_literal(line)]));
        ops.push(Operation::new("T*", vec![]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content = doc.add_object(Stream::new(
        dictionary! {},
        Content { operations: ops }.encode().unwrap(),
    ));
    let kids: Vec<Object> = (0..pages)
        .map(|_| {
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "Resources" => resources,
            })
            .into()
        })
        .collect();
    doc.objects.insert(
        pages_id,
        Object::Dictionary(
            dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => pages as i64 },
        ),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn timeout_and_cancel_stop_the_extraction_and_leave_no_thread() {
    let bytes = long_pdf(1500);
    let path = Path::new("long.pdf");
    let before = threads();

    // Past the deadline: the extraction itself gives up.
    let short = IngestLimits {
        pdf_timeout: Duration::from_millis(30),
        ..IngestLimits::default()
    };
    let err = ingest::parse(path, &bytes, &short).unwrap_err();
    assert_eq!(err, SkipReason::PdfTimeout { seconds: 1 });
    assert_eq!(threads(), before, "a thread outlived the timeout");

    // Cancelled from another thread while it runs.
    let token = CancelToken::new();
    let canceller = {
        let token = token.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(30));
            token.cancel();
        })
    };
    let err = ingest::parse_cancellable(path, &bytes, &IngestLimits::default(), Some(&token))
        .unwrap_err();
    assert_eq!(err, SkipReason::Cancelled);
    assert_eq!(err.code(), "cancelled");
    canceller.join().unwrap();
    assert_eq!(threads(), before, "a thread outlived the cancel");

    // Without either, the same file is read to its last page.
    let doc = ingest::parse(path, &bytes, &IngestLimits::default()).unwrap();
    assert_eq!(doc.metadata["pdf_pages"], 1500);
    assert_eq!(doc.blocks.last().and_then(|b| b.page), Some(1500));
    assert_eq!(threads(), before);
}
