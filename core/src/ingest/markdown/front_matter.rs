//! YAML front matter: the `---` fenced block at the top of a note, read into
//! JSON metadata (title, tags, aliases and whatever else the note sets).

use serde_json::{Map, Number, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::TScalarStyle;

/// Byte ranges of a front matter block: the YAML between the fences, and
/// where the Markdown body starts.
pub(super) struct FrontMatter {
    pub yaml: (usize, usize),
    pub body_start: usize,
}

/// Finds `---` … `---` (or `...`) at the very start of the text. Without a
/// closing fence the leading `---` is just a thematic break.
pub(super) fn split_front_matter(text: &str) -> Option<FrontMatter> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let yaml_start = first.len();
    let mut pos = yaml_start;
    for line in lines {
        let fence = line.trim_end();
        if fence == "---" || fence == "..." {
            return Some(FrontMatter {
                yaml: (yaml_start, pos),
                body_start: pos + line.len(),
            });
        }
        pos += line.len();
    }
    None
}

/// Deepest nesting of lists and maps read from front matter; real notes
/// nest two or three levels.
const MAX_DEPTH: usize = 64;

/// A list or map being built.
enum Frame {
    List(Vec<Value>),
    Map(Map<String, Value>, Option<String>),
}

/// Converts YAML front matter to a JSON object; an empty block is an empty
/// object. Built from the parser's events with an explicit stack (the
/// loader and the YAML tree recurse, so deep nesting could overflow the
/// stack), refusing nesting deeper than [`MAX_DEPTH`].
pub(super) fn yaml_to_map(yaml: &str) -> Result<Map<String, Value>, String> {
    let mut parser = Parser::new_from_str(yaml);
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Value> = None;
    loop {
        let (event, _) = parser
            .next_token()
            .map_err(|e| format!("invalid YAML front matter: {e}"))?;
        let value = match event {
            Event::StreamEnd | Event::DocumentEnd => break,
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("front matter nests deeper than {MAX_DEPTH} levels"));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::List(Vec::new()),
                    _ => Frame::Map(Map::new(), None),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::List(items)) => Value::Array(items),
                Some(Frame::Map(map, _)) => Value::Object(map),
                None => continue,
            },
            Event::Scalar(text, style, ..) => {
                if style == TScalarStyle::Plain {
                    plain_scalar(&text)
                } else {
                    Value::String(text)
                }
            }
            Event::Alias(_) => Value::Null,
            _ => continue,
        };
        match stack.last_mut() {
            None => {
                root = Some(value);
                break;
            }
            Some(Frame::List(items)) => items.push(value),
            Some(Frame::Map(map, key)) => match key.take() {
                None => *key = Some(key_text(value)),
                Some(k) => {
                    map.insert(k, value);
                }
            },
        }
    }
    match root {
        None | Some(Value::Null) => Ok(Map::new()),
        Some(Value::Object(map)) => Ok(map),
        Some(_) => Err("front matter is not a list of `key: value` pairs".to_string()),
    }
}

/// A map key as text.
fn key_text(key: Value) -> String {
    match key {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// An unquoted scalar: number, boolean, null or string, as YAML reads it.
fn plain_scalar(text: &str) -> Value {
    match Yaml::from_str(text) {
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::String(s), Value::Number),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Null => Value::Null,
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        for yaml in [
            "- ".repeat(100_000) + "x",
            "a: ".to_string() + &"[".repeat(200),
        ] {
            let err = yaml_to_map(&yaml).unwrap_err();
            assert!(err.contains("levels") || err.contains("invalid"), "{err}");
        }
        let ok = yaml_to_map("a:\n  b:\n    - [1, 2.5, true, null, '3', x]\n").unwrap();
        assert_eq!(
            ok["a"],
            serde_json::json!({"b": [[1, 2.5, true, null, "3", "x"]]})
        );
    }
}
