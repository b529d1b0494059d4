//! `trove index` then `trove ask` inside an empty network namespace
//! (`unshare -n`: no interface but a downed loopback): both succeed, so
//! nothing in them reaches for the network.

mod common;

#[path = "../../../tests/json/shape_check.rs"]
mod shape_check;

use std::path::Path;

use common::*;

#[test]
fn index_and_ask_work_without_any_network() {
    let store = tempfile::tempdir().unwrap();
    let notes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../notes");
    let offline = |args: &[&str]| {
        let inner = trove(store.path(), args);
        let mut command = std::process::Command::new("unshare");
        command
            .arg("-n")
            .arg(inner.get_program())
            .args(inner.get_args());
        command
    };
    // The namespace really has no network: nothing but a downed loopback.
    let out = expect(
        std::process::Command::new("unshare").args(["-n", "cat", "/proc/net/dev"]),
        0,
    );
    let interfaces = String::from_utf8_lossy(&out.stdout);
    assert_eq!(interfaces.lines().count(), 3, "{interfaces}");
    assert!(interfaces.contains("lo:"), "{interfaces}");

    let out = expect(
        &mut offline(&["--json", "index", notes.to_str().unwrap()]),
        0,
    );
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        summary["files_indexed"].as_u64().unwrap() >= 10,
        "{summary}"
    );
    assert_eq!(summary["files_failed"], 0, "{summary}");

    let out = expect(
        &mut offline(&[
            "--json",
            "ask",
            "What brew temperature do I use for espresso?",
            "--max-tokens",
            "48",
        ]),
        0,
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !answer["answer"].as_str().unwrap().trim().is_empty(),
        "{answer}"
    );
    if let Err(e) = shape_check::check_shape("answer", &answer) {
        panic!("{e}\n{answer:#}");
    }
    let citations = answer["citations"].as_array().unwrap();
    assert!(!citations.is_empty(), "{answer}");
    assert!(
        citations[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("espresso.md"),
        "{answer}"
    );
}
