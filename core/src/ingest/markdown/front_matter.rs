//! YAML front matter: the `---` fenced block at the top of a note, read into
//! JSON metadata (title, tags, aliases and whatever else the note sets).

use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

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

/// Converts YAML front matter to a JSON object; an empty block is an empty object.
pub(super) fn yaml_to_map(yaml: &str) -> Result<Map<String, Value>, String> {
    let docs =
        YamlLoader::load_from_str(yaml).map_err(|e| format!("invalid YAML front matter: {e}"))?;
    match docs.into_iter().next() {
        None | Some(Yaml::Null) => Ok(Map::new()),
        Some(Yaml::Hash(hash)) => Ok(hash
            .into_iter()
            .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
            .collect()),
        Some(_) => Err("front matter is not a list of `key: value` pairs".to_string()),
    }
}

fn yaml_key(key: Yaml) -> String {
    match yaml_to_json(key) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn yaml_to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::String(s) => Value::String(s),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::String(s), Value::Number),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Array(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Yaml::Hash(hash) => Value::Object(
            hash.into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

