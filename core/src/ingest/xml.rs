//! Streaming XML for document parts (quick-xml over an archive entry):
//! elements by qualified name, text with the five XML entities and
//! character references resolved. No DTD is ever processed: a document
//! declaring entities is refused, and unknown references stay as written,
//! so nothing can expand.

use std::io::BufReader;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::SkipReason;
use super::zip::Archive;

/// What a part's walker sees.
pub(super) enum XmlEvent<'e> {
    /// A start tag, or an empty element (`empty`: no end tag follows).
    Start {
        element: &'e BytesStart<'e>,
        empty: bool,
    },
    /// An end tag, by qualified name.
    End(&'e str),
    /// Character data, references resolved.
    Text(&'e str),
}

/// The qualified name of an element (`w:p`, `text:h`).
pub(super) fn name<'e>(element: &'e BytesStart<'e>) -> &'e str {
    element.name().0
}

/// The value of the attribute with this qualified name.
pub(super) fn attr(element: &BytesStart<'_>, qname: &str) -> Option<String> {
    element
        .attributes()
        .with_checks(false)
        .flatten()
        .find(|a| a.key.0 == qname)
        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
        .map(|v| v.into_owned())
}

/// Whether a DOCTYPE declares entities (an internal subset with
/// `<!ENTITY`): the shape of every entity-expansion attack.
pub(super) fn declares_entities(doctype: &str) -> bool {
    doctype.contains('[') && doctype.to_ascii_uppercase().contains("<!ENTITY")
}

/// Streams the part `name` of `archive` (`what` names it for messages)
/// through `visit`, which may stop the walk with a skip reason.
pub(super) fn walk(
    archive: &Archive<'_>,
    name: &str,
    what: &str,
    visit: &mut dyn FnMut(XmlEvent<'_>) -> Result<(), SkipReason>,
) -> Result<(), SkipReason> {
    let entry = archive.reader(name, what)?;
    let mut reader = Reader::from_reader(BufReader::new(entry));
    let mut buf = Vec::new();
    let mut text = String::new();
    loop {
        buf.clear();
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(quick_xml::Error::Io(e)) => return Err(archive.failure(format!("{name}: {e}"))),
            Err(e) => {
                return Err(SkipReason::Malformed {
                    detail: format!(
                        "{name} at byte {}: {}",
                        reader.error_position(),
                        super::one_line(&e.to_string())
                    ),
                });
            }
        };
        match event {
            Event::Start(ref e) => visit(XmlEvent::Start {
                element: e,
                empty: false,
            })?,
            Event::Empty(ref e) => visit(XmlEvent::Start {
                element: e,
                empty: true,
            })?,
            Event::End(ref e) => visit(XmlEvent::End(e.name().0))?,
            Event::Text(ref t) => visit(XmlEvent::Text(&t.xml10_content()))?,
            Event::CData(ref t) => visit(XmlEvent::Text(&t.xml10_content()))?,
            Event::GeneralRef(ref r) => {
                text.clear();
                match r.resolve_char_ref() {
                    Ok(Some(c)) => text.push(c),
                    _ => match quick_xml::escape::resolve_xml_entity(r) {
                        Some(s) => text.push_str(s),
                        // Not defined anywhere we read: keep it as written.
                        None => {
                            text.push('&');
                            text.push_str(r);
                            text.push(';');
                        }
                    },
                }
                visit(XmlEvent::Text(&text))?;
            }
            Event::DocType(ref d) if declares_entities(d) => return Err(SkipReason::XmlEntities),
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

/// Text of the first element named `qname` in a small part (a title in
/// document properties), whitespace collapsed; `None` when absent or empty.
pub(super) fn first_text(
    archive: &Archive<'_>,
    part: &str,
    qname: &str,
) -> Result<Option<String>, SkipReason> {
    if !archive.contains(part) {
        return Ok(None);
    }
    let mut depth = 0usize;
    let mut found = String::new();
    let mut done = false;
    walk(archive, part, "the document properties", &mut |event| {
        match event {
            XmlEvent::Start { element, empty } if !done && name(element) == qname && !empty => {
                depth += 1
            }
            XmlEvent::End(n) if depth > 0 && n == qname => {
                depth -= 1;
                done = depth == 0;
            }
            XmlEvent::Text(t) if depth > 0 => found.push_str(t),
            _ => {}
        }
        Ok(())
    })?;
    let found = found.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(Some(found).filter(|f| !f.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::IngestLimits;
    use crate::ingest::testdata::zip_of;

    fn events(xml: &str) -> Result<Vec<String>, SkipReason> {
        let bytes = zip_of(&[("p.xml", xml.as_bytes())]);
        let archive = Archive::open(&bytes, &IngestLimits::default()).unwrap();
        let mut out = Vec::new();
        walk(&archive, "p.xml", "the part", &mut |e| {
            out.push(match e {
                XmlEvent::Start { element, empty } => {
                    format!("<{}{}>", name(element), if empty { "/" } else { "" })
                }
                XmlEvent::End(n) => format!("</{n}>"),
                XmlEvent::Text(t) => t.to_string(),
            });
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn references_resolve_and_unknown_ones_stay() {
        let got =
            events("<w:p a=\"1\">x &amp; y &#233;&#x263A; &nbsp; <w:br/><![CDATA[<raw>]]></w:p>")
                .unwrap();
        assert_eq!(got.concat(), "<w:p>x & y é☺ &nbsp; <w:br/><raw></w:p>");
    }

    #[test]
    fn entity_declarations_are_refused() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">\n]>\n<lolz>&lol2;</lolz>";
        assert_eq!(events(bomb).unwrap_err(), SkipReason::XmlEntities);
        // An external DTD reference alone is not processed and not refused.
        let xhtml = "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.1//EN\" \"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd\"><html>ok</html>";
        assert_eq!(events(xhtml).unwrap().concat(), "<html>ok</html>");
    }

    #[test]
    fn malformed_xml_names_where() {
        let err = events("<a><b></a>").unwrap_err();
        assert_eq!(err.code(), "malformed");
        assert!(err.to_string().contains("p.xml"), "{err}");
    }
}
