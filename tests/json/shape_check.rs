//! Checks a JSON value against a shape of tests/json/shapes.json (the
//! notation is described in that file's "_about"). Included with `#[path]`
//! by the test crates that print or receive trove's JSON.

use serde_json::Value;

/// The shapes file, read at compile time so a test needs no working directory.
pub const SHAPES: &str = include_str!("shapes.json");

/// Checks `value` against the shape called `name`; the error names the path
/// of the first mismatch.
pub fn check_shape(name: &str, value: &Value) -> Result<(), String> {
    let shapes: Value = serde_json::from_str(SHAPES).expect("shapes.json is JSON");
    let shape = shapes
        .get(name)
        .unwrap_or_else(|| panic!("no shape {name} in shapes.json"));
    check(&shapes, shape, value, name)
}

fn check(shapes: &Value, shape: &Value, value: &Value, at: &str) -> Result<(), String> {
    match shape {
        Value::String(spec) => {
            let (spec, nullable) = match spec.strip_suffix("|null") {
                Some(spec) => (spec, true),
                None => (spec.as_str(), false),
            };
            if value.is_null() {
                return if nullable {
                    Ok(())
                } else {
                    Err(format!("{at}: null where {spec} is wanted"))
                };
            }
            if let Some(reference) = spec.strip_prefix('$') {
                let target = shapes
                    .get(reference)
                    .unwrap_or_else(|| panic!("no shape {reference} in shapes.json"));
                return check(shapes, target, value, at);
            }
            let fits = match spec {
                "string" => value.is_string(),
                "integer" => value.is_u64() || value.is_i64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => panic!("unknown type {other} in shapes.json"),
            };
            if fits {
                Ok(())
            } else {
                Err(format!("{at}: {value} is not {spec}"))
            }
        }
        Value::Array(element) => {
            let items = value
                .as_array()
                .ok_or_else(|| format!("{at}: {value} is not an array"))?;
            items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| check(shapes, &element[0], item, &format!("{at}[{i}]")))
        }
        Value::Object(fields) => {
            let object = value
                .as_object()
                .ok_or_else(|| format!("{at}: {value} is not an object"))?;
            if let Some(extra) = object.keys().find(|k| !fields.contains_key(*k)) {
                return Err(format!("{at}: key {extra} is not in the shape"));
            }
            fields.iter().try_for_each(|(key, field)| {
                let item = object
                    .get(key)
                    .ok_or_else(|| format!("{at}: key {key} is missing"))?;
                check(shapes, field, item, &format!("{at}.{key}"))
            })
        }
        other => panic!("bad shape {other} in shapes.json"),
    }
}
