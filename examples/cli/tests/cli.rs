//! The `trove` binary end to end: JSON shapes, exit codes, error messages,
//! batch search, status, forget, and the walk's rules and failures.

mod common;

#[path = "../../../tests/json/shape_check.rs"]
mod shape_check;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

/// Fails unless `value` has the shape `name` of tests/json/shapes.json.
fn assert_shape(name: &str, value: &serde_json::Value) {
    if let Err(e) = shape_check::check_shape(name, value) {
        panic!("{e}\n{value:#}");
    }
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn index_search_status_forget_speak_the_documented_json_and_exit_codes() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let store = store.path().join("kb");
    write(
        notes.path(),
        "espresso.md",
        &note("espresso", "portafilter"),
    );
    write(
        notes.path(),
        "garden/tomatoes.md",
        &note("tomatoes", "seedling"),
    );
    write(notes.path(), "garden/beans.txt", &note("beans", "trellis"));
    let root = notes.path().to_str().unwrap();

    // Reading commands refuse a store that does not exist, naming the fix.
    let out = expect(&mut trove(&store, &["search", "anything"]), 1);
    assert!(
        stderr(&out).contains("run `trove index PATH` first"),
        "{}",
        stderr(&out)
    );
    assert!(!store.exists(), "a failed search must not create a store");

    let summary = json(&store, &["index", root]);
    assert_shape("index_summary", &summary);
    assert_eq!(summary["files_indexed"], 3, "{summary}");
    assert_eq!(summary["chunks_embedded"], 3, "{summary}");
    let again = json(&store, &["index", root]);
    assert_eq!(
        (
            again["files_unchanged"].as_u64(),
            again["chunks_embedded"].as_u64()
        ),
        (Some(3), Some(0))
    );

    // Search: one object with the query and ranked results.
    let result = json(
        &store,
        &["search", "portafilter", "--mode", "keyword", "-k", "2"],
    );
    assert_shape("search_result", &result);
    assert_eq!(result["query"], "portafilter");
    let hits = result["results"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{result}");
    assert!(hits[0]["path"].as_str().unwrap().ends_with("espresso.md"));
    assert_eq!(hits[0]["lines"], serde_json::json!([3, 3]));

    // Batch: one JSON line per query, in order, models loaded once.
    let batch = notes.path().join("queries.txt");
    std::fs::write(&batch, "portafilter\n\ntrellis\nseedling\n").unwrap();
    let out = expect(
        &mut trove(
            &store,
            &[
                "search",
                "--batch",
                batch.to_str().unwrap(),
                "--json",
                "--mode",
                "keyword",
            ],
        ),
        0,
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let firsts: Vec<(&str, &str)> = lines
        .iter()
        .map(|l| {
            let path = l["results"][0]["path"].as_str().unwrap();
            (
                l["query"].as_str().unwrap(),
                Path::new(path).file_name().unwrap().to_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        firsts,
        [
            ("portafilter", "espresso.md"),
            ("trellis", "beans.txt"),
            ("seedling", "tomatoes.md")
        ]
    );

    let status = json(&store, &["status"]);
    assert_shape("stats", &status);
    assert_eq!(
        (status["documents"].as_u64(), status["chunks"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(status["vectors"], status["chunks"]);
    assert_eq!(
        status["embedding_model"]["sha256"].as_str().unwrap().len(),
        64
    );
    assert_eq!(status["last_index_run"]["files_unchanged"], 3);
    let text = expect(&mut trove(&store, &["status"]), 0);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.lines()
            .any(|l| l.starts_with("llm ") && l.split_whitespace().last().unwrap().len() == 64),
        "the text status names the answer model's sha256:\n{text}"
    );

    // A reader that has gone away (`trove search … | head`) ends the command
    // quietly: exit 0, nothing on stderr, for every command that prints. The
    // pipe is closed before the command writes (it loads models first), so
    // every write hits a broken pipe.
    let espresso = notes.path().join("espresso.md");
    for args in [
        &["search", "portafilter", "-k", "3"][..],
        &["status"],
        &["search", "--batch", batch.to_str().unwrap(), "--json"],
        &["index", espresso.to_str().unwrap()],
        &["ask", "What holds the coffee?", "--max-tokens", "8"],
    ] {
        let mut child = trove(&store, args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), "", "{args:?}");
    }

    // Forget a folder: its documents go, the files stay.
    let forgot = json(&store, &["forget", &format!("{root}/garden")]);
    assert_eq!(forgot["removed"], 2);
    assert!(notes.path().join("garden/beans.txt").exists());
    assert_eq!(json(&store, &["status"])["documents"], 1);
    assert!(search_names(&store, "trellis", "keyword").is_empty());

    // Usage errors exit 2; failures exit 1 and name the file and the fix.
    expect(&mut trove(&store, &["search"]), 2);
    expect(&mut trove(&store, &["index"]), 2);
    expect(&mut trove(&store, &["frobnicate"]), 2);
    expect(&mut trove(&store, &["search", "x", "--mode", "fuzzy"]), 2);
    let missing = notes.path().join("missing-folder");
    let out = expect(&mut trove(&store, &["index", missing.to_str().unwrap()]), 1);
    assert!(
        stderr(&out).contains("missing-folder") && stderr(&out).contains("check the path"),
        "{}",
        stderr(&out)
    );
    let out = expect(
        &mut trove(&store, &["search", "--batch", "/nonexistent/queries.txt"]),
        1,
    );
    assert!(
        stderr(&out).contains("/nonexistent/queries.txt"),
        "{}",
        stderr(&out)
    );
    let out = expect(Command::new(env!("CARGO_BIN_EXE_trove")).arg("--help"), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2  usage error"));
}

#[test]
fn ignore_rules_permission_denied_and_symlink_loops_are_reported_not_fatal() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let root = notes.path().canonicalize().unwrap();
    write(&root, "good.md", &note("good", "kept"));
    write(&root, "sub/also-good.md", &note("also", "kept"));
    write(&root, "drafts/draft.md", &note("draft", "gitignored"));
    write(&root, "private.md", &note("private", "troveignored"));
    write(
        &root,
        "node_modules/pkg/README.md",
        &note("package", "dependency"),
    );
    write(&root, ".hidden/secret.md", &note("hidden", "hidden"));
    write(
        &root,
        ".obsidian/workspace.md",
        &note("obsidian", "settings"),
    );
    write(&root, ".gitignore", "drafts/\n");
    write(&root, ".troveignore", "private.md\n");
    let locked = write(&root, "locked.md", &note("locked", "unreadable"));
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let locked_dir = root.join("locked-dir");
    write(&root, "locked-dir/inside.md", &note("inside", "unreadable"));
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();

    let out = expect(
        without_read_override()
            .arg(env!("CARGO_BIN_EXE_trove"))
            .args(["--store", store.path().to_str().unwrap(), "--models"])
            .arg(models_dir())
            .args(["--threads", "1", "--json", "index", root.to_str().unwrap()]),
        0,
    );
    // Let the temporary folder clean itself up.
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["files_indexed"], 2, "{summary}");
    let failures = summary["failures"].as_array().unwrap();
    let reason = |suffix: &str| -> String {
        failures
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no failure for {suffix}: {summary}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("locked.md").contains("permission denied"),
        "{summary}"
    );
    assert!(reason("locked.md").contains("chmod"), "{summary}");
    assert!(
        reason("locked-dir").contains("permission denied"),
        "{summary}"
    );
    assert!(reason("sub/loop").contains("loops back"), "{summary}");
    assert_eq!(failures.len(), 3, "{summary}");
    let status = json(store.path(), &["status"]);
    assert_eq!(status["documents"], 2);
    for word in [
        "gitignored",
        "troveignored",
        "dependency",
        "hidden",
        "settings",
    ] {
        assert!(
            search_names(store.path(), word, "keyword").is_empty(),
            "{word} was indexed"
        );
    }
    // Made readable (no size or mtime change): the next run picks it up.
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o644)).unwrap();
    let again = json(store.path(), &["index", root.to_str().unwrap()]);
    assert_eq!(again["files_indexed"], 2, "{again}");
    let mut found = search_names(store.path(), "unreadable", "keyword");
    found.sort();
    assert_eq!(found, ["inside.md", "locked.md"]);
}

#[test]
fn embedding_is_chosen_per_store_and_reembed_converts() {
    let notes = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "ferry.md",
        "# フェリー\n\nフェリーは七時に港を出発します。\n",
    );
    write(
        notes.path(),
        "cake.md",
        "# Kuchen\n\nDer Kuchen braucht 200 Gramm Zucker.\n",
    );
    let store = tempfile::tempdir().unwrap();
    let store = store.path().join("kb");
    let dir = notes.path().to_str().unwrap();
    json(&store, &["--embedding", "e5", "index", dir]);
    let status = json(&store, &["--embedding", "e5", "status"]);
    assert_eq!(status["embedding_model"]["name"], "multilingual-e5-small");
    let hits = json(
        &store,
        &[
            "--embedding",
            "e5",
            "search",
            "When does the ferry leave?",
            "--mode",
            "vector",
            "-k",
            "1",
        ],
    );
    assert!(
        hits["results"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("ferry.md"),
        "{hits}"
    );
    // Without --embedding the bundled English model is loaded: refused.
    let out = expect(&mut trove(&store, &["status"]), 1);
    assert!(stderr(&out).contains("reembed"), "{}", stderr(&out));
    // --reembed converts the store to the loaded model.
    let converted = json(&store, &["--reembed", "status"]);
    assert_eq!(
        converted["embedding_model"]["name"],
        "all-MiniLM-L6-v2-int8"
    );
    assert_eq!(converted["embeddings"], converted["chunks"], "{converted}");
    // One CJK character is a keyword query.
    assert_eq!(search_names(&store, "港", "keyword"), ["ferry.md"]);
    let bad = expect(
        &mut trove(&store, &["search", "。！", "--mode", "keyword"]),
        1,
    );
    assert!(
        stderr(&bad).contains("no words to search for"),
        "{}",
        stderr(&bad)
    );
}

/// The mode bits of every entry of `dir` (and of `dir` itself, as ".").
fn modes(dir: &Path) -> Vec<(String, u32)> {
    let mut modes = vec![(
        ".".to_string(),
        dir.metadata().unwrap().permissions().mode() & 0o777,
    )];
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
        modes.push((entry.file_name().to_string_lossy().into_owned(), mode));
    }
    modes.sort();
    modes
}

/// `cat PATH` as user and group nobody (65534): whether it could read it.
fn nobody_can_read(path: &Path) -> bool {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "cat"])
        .arg(path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("setpriv runs")
        .success()
}

/// The store holds the full text of every note: its directory is 0700 and
/// every file in it 0600 whatever the umask, so another user reads nothing;
/// a store made before this is tightened when opened.
#[test]
fn the_store_is_private_to_its_owner_whatever_the_umask() {
    let notes = tempfile::tempdir().unwrap();
    write(notes.path(), "secret.md", &note("passwords", "zebra"));
    // A parent everyone may enter, so only the store's own modes protect it.
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = parent.path().join(".trove");
    let mut index = Command::new("sh");
    index
        .args(["-c", "umask 000 && exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_trove"))
        .arg("--store")
        .arg(&store)
        .arg("--models")
        .arg(models_dir())
        .args(["--threads", "1", "index"])
        .arg(notes.path());
    expect(&mut index, 0);
    let found = modes(&store);
    assert!(
        found.len() >= 4,
        "database, WAL, vectors, sidecar: {found:?}"
    );
    for (name, mode) in &found {
        let wanted = if name == "." { 0o700 } else { 0o600 };
        assert_eq!(*mode, wanted, "{name} of {found:?}");
    }
    // The check can fail: nobody reads a world-readable file beside it.
    let public = write(parent.path(), "public.txt", "anyone may read this\n");
    std::fs::set_permissions(&public, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(nobody_can_read(&public));
    assert!(!nobody_can_read(&store.join("trove.db")));

    // An older store (0755 directory, 0644 files) is tightened on opening.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    for (name, _) in found.iter().filter(|(n, _)| n != ".") {
        std::fs::set_permissions(store.join(name), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    assert!(nobody_can_read(&store.join("trove.db")));
    expect(&mut trove(&store, &["status"]), 0);
    for (name, mode) in modes(&store) {
        let wanted = if name == "." { 0o700 } else { 0o600 };
        assert_eq!(mode, wanted, "{name} after reopening");
    }
    assert!(!nobody_can_read(&store.join("trove.db")));
}

/// `--llm` picks the answer model by path, on every command: status names
/// it, ask answers with it, and a missing file is a clear failure (exit 1)
/// naming it.
#[test]
fn llm_chooses_the_answer_model_by_path() {
    let notes = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "tea.md",
        "# Tea\n\nGreen tea is brewed at 80 °C for two minutes.\n",
    );
    let store = tempfile::tempdir().unwrap();
    expect(
        &mut trove(store.path(), &["index", notes.path().to_str().unwrap()]),
        0,
    );
    // The bundled model under another name, in another folder.
    let elsewhere = tempfile::tempdir().unwrap();
    let model = elsewhere.path().join("my-chat-model.gguf");
    std::os::unix::fs::symlink(models_dir().join("SmolLM2-135M-Instruct.Q4_1.gguf"), &model)
        .unwrap();
    let llm = model.to_str().unwrap();
    let status = json(store.path(), &["--llm", llm, "status"]);
    assert_eq!(status["llm_path"], llm, "{status}");
    let answer = json(
        store.path(),
        &[
            "--llm",
            llm,
            "ask",
            "--strategy",
            "generative",
            "--max-tokens",
            "16",
            "How hot is green tea brewed?",
        ],
    );
    assert_eq!(answer["strategy"], "generative", "{answer}");
    assert!(!answer["answer"].as_str().unwrap().is_empty(), "{answer}");
    assert_eq!(answer["passages"][0]["title"], "Tea", "{answer}");

    let missing = elsewhere.path().join("missing.gguf");
    let out = expect(
        &mut trove(
            store.path(),
            &[
                "--llm",
                missing.to_str().unwrap(),
                "ask",
                "--strategy",
                "generative",
                "How hot is green tea brewed?",
            ],
        ),
        1,
    );
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("missing.gguf"), "{message}");
}

#[test]
fn models_lists_what_the_store_runs_with_and_what_the_models_folder_holds() {
    let notes = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "tea.md",
        "# Tea\n\nGreen tea is brewed at 80 °C.\n",
    );
    let store = tempfile::tempdir().unwrap();
    expect(
        &mut trove(store.path(), &["index", notes.path().to_str().unwrap()]),
        0,
    );
    let zero = models_dir().join("test-lora/zero.gguf");
    let zero = zero.to_str().unwrap();
    // KV cache types, a context size and a LoRA adapter reach the answer model.
    let answer = json(
        store.path(),
        &[
            "--context-size",
            "1024",
            "--cache-type-k",
            "q8_0",
            "--cache-type-v",
            "q4_0",
            "--lora",
            &format!("{zero}:0.5"),
            "ask",
            "--strategy",
            "generative",
            "--max-tokens",
            "8",
            "--min-grounding",
            "0",
            "How hot is green tea brewed?",
        ],
    );
    assert!(!answer["answer"].as_str().unwrap().is_empty(), "{answer}");

    let out = expect(
        &mut trove(store.path(), &["--json", "--lora", zero, "models"]),
        0,
    );
    let mut lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Last, what GPU offload this build offers.
    let gpu = lines.pop().expect("a gpu line");
    assert_shape("gpu_support", &gpu["gpu"]);
    for line in &lines {
        assert_shape("model_info", line);
    }
    let roles: Vec<&str> = lines.iter().map(|l| l["role"].as_str().unwrap()).collect();
    assert_eq!(
        roles[..3],
        ["embedding", "answer", "lora_adapter"],
        "{lines:?}"
    );
    assert_eq!(lines[1]["recorded_by"], "store", "the ask recorded it");
    assert_eq!(lines[1]["quantization"], "Q4_1");
    // The multilingual model is in the folder, not configured.
    assert!(
        lines.iter().any(|l| l["role"] == "found"
            && l["path"]
                .as_str()
                .unwrap()
                .ends_with("multilingual-e5-small-q4_0.gguf")),
        "{lines:?}"
    );
    let text = expect(&mut trove(store.path(), &["models"]), 0);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("answer") && text.contains("Q4_1") && text.contains("chat chatml"),
        "{text}"
    );
    assert!(text.contains("\ngpu "), "{text}");

    let bad = expect(
        &mut trove(store.path(), &["--cache-type-k", "q5", "models"]),
        2,
    );
    assert!(stderr(&bad).contains("q5"), "{}", stderr(&bad));
}

/// `ask --json` says at top level whether the question was declined: a
/// question the notes cannot answer gets the fixed answer and no citation,
/// one they can gets a quote of its source; `--min-grounding 0` never
/// declines.
#[test]
fn ask_declines_what_the_notes_do_not_hold() {
    let notes = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "tea.md",
        "# Tea\n\nGreen tea is brewed at 80 °C for two minutes.\n\nBlack tea wants boiling water.\n",
    );
    let store = tempfile::tempdir().unwrap();
    expect(
        &mut trove(store.path(), &["index", notes.path().to_str().unwrap()]),
        0,
    );
    let off = json(
        store.path(),
        &["ask", "Who won the football world cup in 2014?"],
    );
    assert_eq!(off["declined"], true, "{off}");
    let text = off["answer"].as_str().unwrap();
    assert!(text.starts_with("Not in your documents"), "{text}");
    assert!(
        text.contains("tea.md"),
        "the closest document is named: {text}"
    );
    assert_eq!(off["citations"].as_array().unwrap().len(), 0, "{off}");

    let on = json(store.path(), &["ask", "How hot is green tea brewed?"]);
    assert_eq!(on["declined"], false, "{on}");
    assert!(on["answer"].as_str().unwrap().contains("80 °C"), "{on}");
    assert_eq!(on["citations"][0]["title"], "Tea", "{on}");

    let forced = json(
        store.path(),
        &[
            "ask",
            "--min-grounding",
            "0",
            "Who won the football world cup in 2014?",
        ],
    );
    assert_eq!(forced["declined"], false, "{forced}");
}

/// `trove chat` answers one question a line as one conversation: a
/// follow-up is searched with the question before it, `--history` saves
/// the turns and a later chat goes on from them, `/new` starts over, and
/// a bad question is reported without ending the chat.
#[test]
fn chat_follows_up_and_keeps_its_history() {
    let notes = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "tea.md",
        "# Tea\n\nGreen tea is brewed at 80 °C for two minutes.\n",
    );
    write(
        notes.path(),
        "bike.md",
        "# Bike\n\nThe tyres run at 4.5 bar; in the rain, 4 bar.\n",
    );
    let store = tempfile::tempdir().unwrap();
    expect(
        &mut trove(store.path(), &["index", notes.path().to_str().unwrap()]),
        0,
    );
    let history = store.path().join("chat.json");
    let chat = |input: &str| -> Vec<serde_json::Value> {
        let mut child = trove(
            store.path(),
            &["--json", "chat", "--history", history.to_str().unwrap()],
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let answers = chat("What pressure do the bike tyres run at?\n   \nAnd in the rain?\n");
    assert_eq!(answers.len(), 2, "{answers:?}");
    let follow_up = &answers[1];
    assert_eq!(
        follow_up["history"]["query"], "What pressure do the bike tyres run at? And in the rain?",
        "{follow_up}"
    );
    assert_eq!(follow_up["passages"][0]["title"], "Bike", "{follow_up}");
    assert!(
        follow_up["answer"].as_str().unwrap().contains("4 bar"),
        "{follow_up}"
    );
    let saved: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&history).unwrap()).unwrap();
    assert_eq!(saved.len(), 2);

    // Goes on from the saved turns; /new forgets them.
    let answers = chat("And for green tea, how hot?\n/new\nAnd in the rain?\n");
    assert_eq!(
        answers[0]["passages"][0]["title"], "Tea",
        "{:?}",
        answers[0]
    );
    assert_eq!(
        answers[1]["history"]["query"], "And in the rain?",
        "{:?}",
        answers[1]
    );
    let saved: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&history).unwrap()).unwrap();
    assert_eq!(saved.len(), 1, "after /new only the last turn: {saved:?}");

    std::fs::write(&history, "not json").unwrap();
    let out = expect(
        &mut trove(
            store.path(),
            &["chat", "--history", history.to_str().unwrap()],
        ),
        1,
    );
    assert!(
        stderr(&out).contains("not a trove chat history"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn links_lists_a_notes_links_and_the_notes_linking_to_it() {
    let store = tempfile::tempdir().unwrap();
    let vault =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../core/tests/fixtures/obsidian-vault");
    expect(
        &mut trove(store.path(), &["index", vault.to_str().unwrap()]),
        0,
    );
    let hops = vault.join("Hop Varieties.md");
    let v = json(store.path(), &["links", hops.to_str().unwrap()]);
    assert_shape("links_result", &v);
    let sources: Vec<&str> = v["backlinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["source"]["title"].as_str().unwrap())
        .collect();
    assert!(sources.contains(&"Home Brewing"), "{v:#}");
    let brewing = vault.join("Home Brewing.md");
    let out = expect(
        &mut trove(store.path(), &["links", brewing.to_str().unwrap()]),
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("links [[Hop Varieties]] -> "), "{text}");
    assert!(
        text.contains("embeds [[mash-tun.jpg]] -> (no such document)"),
        "{text}"
    );
    // A document the store does not hold: an error naming the fix.
    let out = expect(&mut trove(store.path(), &["links", "no-such-note"]), 1);
    assert!(stderr(&out).contains("no document"), "{}", stderr(&out));
}

#[test]
fn explain_and_document_status_say_why_a_note_is_or_is_not_found() {
    let store = tempfile::tempdir().unwrap();
    let notes = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "espresso.md",
        "# Espresso\n\nBrew at 93 °C for 28 seconds.\n",
    );
    write(
        notes.path(),
        "bread.md",
        "# Bread\n\nThe sourdough starter gets rye flour.\n",
    );
    write(notes.path(), "broken.pdf", "no PDF at all");
    expect(
        &mut trove(store.path(), &["index", notes.path().to_str().unwrap()]),
        0,
    );
    let espresso = notes.path().join("espresso.md");
    let espresso = espresso.to_str().unwrap();
    let v = json(store.path(), &["explain", "brew temperature", espresso]);
    assert_shape("explanation", &v);
    assert_eq!(v["hybrid"]["rank"], 1, "{v:#}");
    let out = expect(
        &mut trove(store.path(), &["explain", "sourdough rye", espresso]),
        0,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("no word of the query occurs"), "{text}");
    assert!(text.contains("bread.md"), "{text}");
    let v = json(
        store.path(),
        &["status", notes.path().join("broken.pdf").to_str().unwrap()],
    );
    assert_shape("document_status", &v);
    assert_eq!(v["state"], "failed");
    assert_eq!(v["failure_code"], "not_pdf");
    let out = expect(&mut trove(store.path(), &["status", espresso]), 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains(": indexed"));
}

#[test]
fn index_no_wait_is_keyword_searchable_and_embed_finishes_the_vectors() {
    let store = tempfile::tempdir().unwrap();
    let notes = tempfile::tempdir().unwrap();
    write(notes.path(), "kettle.md", &note("kettle", "descaler"));
    write(notes.path(), "bike.md", &note("bike", "derailleur"));
    let root = notes.path().to_str().unwrap();
    let summary = json(store.path(), &["index", "--no-wait", root]);
    assert_shape("index_summary", &summary);
    assert_eq!(
        (
            summary["chunks_embedded"].as_u64(),
            summary["chunks_pending"].as_u64()
        ),
        (Some(0), Some(2)),
        "{summary}"
    );
    let out = expect(&mut trove(store.path(), &["index", "--no-wait", root]), 0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 chunks wait for embedding"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let found = json(store.path(), &["search", "descaler", "--mode", "keyword"]);
    assert_eq!(found["results"][0]["embedded"], false, "{found}");
    let kettle = notes.path().join("kettle.md");
    let status = json(store.path(), &["status", kettle.to_str().unwrap()]);
    assert_eq!(
        (&status["state"], &status["chunks_pending"]),
        (
            &serde_json::json!("pending_embedding"),
            &serde_json::json!(1)
        ),
        "{status}"
    );
    let stats = json(store.path(), &["status"]);
    assert_eq!(
        (&stats["vectors"], &stats["chunks_pending"]),
        (&0.into(), &2.into())
    );

    let embedded = json(store.path(), &["embed"]);
    assert_shape("index_summary", &embedded);
    assert_eq!(
        (
            embedded["chunks_embedded"].as_u64(),
            embedded["chunks_pending"].as_u64()
        ),
        (Some(2), Some(0)),
        "{embedded}"
    );
    let found = json(
        store.path(),
        &["search", "descaler", "--mode", "vector", "-k", "1"],
    );
    assert_eq!(found["results"][0]["embedded"], true, "{found}");
    let stats = json(store.path(), &["status"]);
    assert_eq!(
        (&stats["vectors"], &stats["chunks_pending"]),
        (&2.into(), &0.into())
    );
}
