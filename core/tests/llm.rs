//! The answer generator against real GGUF models (see `make setup`); in a
//! `vulkan` build, offloaded to the GPU (`make gpu-test`).

mod common;

use std::path::PathBuf;
use std::sync::{OnceLock, mpsc};

use trove::llm::{
    Generation, GenerationOptions, Llm, LlmConfig, Passage, StopReason, parse_citations,
};
use trove::{CancelToken, ErrorKind};

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
const GEMMA3: &str = "gemma-3-270m/gemma-3-270m-q4_k_m.gguf";

/// A test model under `$TROVE_MODELS` (default `<repo>/models`); a missing
/// model fails the test, it is never skipped.
fn model_path(relative: &str) -> PathBuf {
    let path = common::models_dir().join(relative);
    assert!(
        path.is_file(),
        "test model {} is missing: run `make setup` (or point TROVE_MODELS at the models)",
        path.display()
    );
    path
}

fn config(relative: &str, threads: usize, context_size: u32) -> LlmConfig {
    LlmConfig {
        threads,
        context_size,
        gpu_layers: common::GPU_LAYERS,
        ..LlmConfig::new(model_path(relative))
    }
}

/// SmolLM2, loaded once and shared by the tests (as hosts share it).
fn smollm() -> &'static Llm {
    static MODEL: OnceLock<Llm> = OnceLock::new();
    MODEL.get_or_init(|| Llm::load(&config(SMOLLM2, 1, 2048)).expect("SmolLM2 loads"))
}

fn espresso_passages() -> Vec<Passage> {
    let passage = |header: &str, text: &str| Passage {
        header: header.to_string(),
        text: text.to_string(),
    };
    vec![
        passage(
            "notes/espresso.md — Brewing (lines 12–20)",
            "Brew espresso with water at 93 °C. A double shot uses 18 grams of coffee \
             and takes 25 to 30 seconds.",
        ),
        passage(
            "notes/espresso.md — Grinding (lines 21–26)",
            "Grind the beans fine, like table salt. Grind just before brewing.",
        ),
        passage(
            "notes/tea.md — Green tea (lines 1–5)",
            "Green tea is brewed at 80 °C for two minutes.",
        ),
    ]
}

fn options(max_tokens: u32) -> GenerationOptions {
    GenerationOptions {
        max_tokens,
        ..GenerationOptions::default()
    }
}

/// A request that keeps a small model talking (greedy, no early end).
const COUNT: &str = "List the numbers from 1 to 30, separated by commas.";

fn counting(max_tokens: u32) -> GenerationOptions {
    GenerationOptions {
        temperature: 0.0,
        system_prompt: Some("You are a helpful assistant.".to_string()),
        ..options(max_tokens)
    }
}

/// Generates, collecting the streamed pieces.
fn generate(
    llm: &Llm,
    question: &str,
    passages: &[Passage],
    options: &GenerationOptions,
) -> (Generation, Vec<String>) {
    let mut pieces = Vec::new();
    let generation = llm
        .generate(
            question,
            passages,
            options,
            &CancelToken::new(),
            &mut |piece| {
                pieces.push(piece.to_string());
                true
            },
        )
        .expect("generation succeeds");
    (generation, pieces)
}

#[test]
fn smollm2_answers_from_passages_and_streams_its_text() {
    let llm = smollm();
    assert!(llm.model_name().contains("mollm2"), "{}", llm.model_name());
    assert_eq!(llm.context_size(), 2048);
    assert!(llm.count_tokens("How hot should espresso water be?") > 3);

    let passages = espresso_passages();
    let (generation, pieces) = generate(
        llm,
        "How hot should the water be for espresso?",
        &passages,
        &options(48),
    );
    eprintln!("SmolLM2: {:?}\n{:?}", generation.text, generation.timings);
    assert!(!generation.text.trim().is_empty());
    assert!(pieces.iter().all(|piece| !piece.is_empty()));
    assert_eq!(pieces.concat(), generation.text);
    assert_eq!(generation.given, [0, 1, 2]);
    assert!(generation.dropped.is_empty());
    assert!(
        generation
            .cited
            .iter()
            .all(|i| generation.given.contains(i))
    );
    let expected_cited: Vec<usize> = parse_citations(&generation.text, 3)
        .into_iter()
        .map(|n| n - 1)
        .collect();
    assert_eq!(generation.cited, expected_cited);
    assert!(matches!(
        generation.stop_reason,
        StopReason::EndOfText | StopReason::MaxTokens
    ));
    let t = &generation.timings;
    assert!(t.prompt_tokens > 50);
    assert!((1..=48).contains(&t.decode_tokens));
    assert!(t.prefill_ms > 0.0 && t.prefill_tok_s > 0.0);
    assert!(t.ttft_ms >= t.prefill_ms);
    if t.decode_tokens > 1 {
        assert!(t.decode_ms > 0.0 && t.decode_tok_s > 0.0);
    }
}

#[test]
fn callback_returning_false_stops_after_three_pieces() {
    let mut pieces = Vec::new();
    let generation = smollm()
        .generate(
            COUNT,
            &[],
            &counting(48),
            &CancelToken::new(),
            &mut |piece| {
                pieces.push(piece.to_string());
                pieces.len() < 3
            },
        )
        .unwrap();
    assert_eq!(generation.stop_reason, StopReason::Callback);
    assert_eq!(pieces.len(), 3);
    assert_eq!(pieces.concat(), generation.text);
}

#[test]
fn cancel_from_another_thread_returns_cancelled() {
    let cancel = CancelToken::new();
    let (first_piece, wait_first) = mpsc::channel();
    let (cancelled, wait_cancelled) = mpsc::channel();
    let canceller = {
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            wait_first.recv().unwrap();
            cancel.cancel();
            cancelled.send(()).unwrap();
        })
    };
    let mut pieces = 0;
    let result = smollm().generate(COUNT, &[], &counting(48), &cancel, &mut |_| {
        pieces += 1;
        if pieces == 1 {
            // Hold generation until the other thread has raised the flag.
            first_piece.send(()).unwrap();
            wait_cancelled.recv().unwrap();
        }
        true
    });
    canceller.join().unwrap();
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled);
    assert_eq!(pieces, 1, "no text after cancellation");

    // A token raised before the call stops it before any work.
    let result = smollm().generate(COUNT, &[], &counting(8), &cancel, &mut |_| true);
    assert_eq!(result.unwrap_err().kind(), ErrorKind::Cancelled);
}

#[test]
fn lowest_ranked_passages_are_dropped_to_fit_the_context() {
    let llm = Llm::load(&config(SMOLLM2, 1, 512)).unwrap();
    let passages: Vec<Passage> = (0..50)
        .map(|i| Passage {
            header: format!("notes/long-{i}.md — Part {i}"),
            text: (0..16)
                .map(|j| format!("Measurement {i}.{j} recorded {} units", i * 31 + j * 7))
                .collect::<Vec<_>>()
                .join("; "),
        })
        .collect();
    let size = llm.count_tokens(&passages[7].text);
    assert!(
        (150..=300).contains(&size),
        "passages should be ~200 tokens, are {size}"
    );

    let max_tokens = 16;
    let (generation, _) = generate(
        &llm,
        "What did measurement 0.3 record?",
        &passages,
        &options(max_tokens),
    );
    let prompt_tokens = generation.timings.prompt_tokens;
    assert!(
        prompt_tokens + max_tokens <= 512,
        "prompt of {prompt_tokens} tokens"
    );
    let n_given = generation.given.len();
    assert!(n_given >= 1, "the best passage fits");
    assert_eq!(generation.given, (0..n_given).collect::<Vec<_>>());
    assert_eq!(generation.dropped, (n_given..50).collect::<Vec<_>>());
    assert!(generation.cited.iter().all(|&i| i < n_given));
}

#[test]
fn question_longer_than_the_context_is_invalid_input() {
    let llm = Llm::load(&config(SMOLLM2, 1, 512)).unwrap();
    let question = "Why is the sky blue? ".repeat(100);
    let err = llm
        .generate(
            &question,
            &espresso_passages(),
            &options(16),
            &CancelToken::new(),
            &mut |_| true,
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("question too long"), "{err}");

    let err = llm
        .generate("Why?", &[], &options(512), &CancelToken::new(), &mut |_| {
            true
        })
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[test]
fn missing_model_file_is_not_found_and_says_make_setup() {
    let err = Llm::load(&LlmConfig::new("/nonexistent/trove/model.gguf"))
        .err()
        .expect("loading must fail");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(
        err.message().contains("/nonexistent/trove/model.gguf"),
        "{err}"
    );
    assert!(err.message().contains("make setup"), "{err}");
}

#[test]
fn non_gguf_file_is_a_model_error() {
    let path = std::env::temp_dir().join(format!("trove-not-a-model-{}.gguf", std::process::id()));
    std::fs::write(&path, "this is a text file, not a model\n").unwrap();
    let result = Llm::load(&LlmConfig::new(&path));
    std::fs::remove_file(&path).unwrap();
    let err = result.err().expect("loading must fail");
    assert_eq!(err.kind(), ErrorKind::Model);
    assert!(err.message().contains("not a GGUF"), "{err}");
}

#[test]
fn model_that_does_not_fit_in_memory_is_refused() {
    let err = Llm::load(&LlmConfig {
        memory_limit_bytes: Some(10_000_000),
        ..config(SMOLLM2, 1, 2048)
    })
    .err()
    .expect("loading must fail");
    assert_eq!(err.kind(), ErrorKind::Model);
    assert!(err.message().contains("memory"), "{err}");
    assert!(err.message().contains("10 MiB"), "{err}");
}

#[test]
fn gemma3_answers_too() {
    let llm = Llm::load(&config(GEMMA3, 1, 2048)).unwrap();
    assert_eq!(llm.model_name(), "Gemma 3 270m");
    let (generation, pieces) = generate(
        &llm,
        "How hot should the water be for espresso?",
        &espresso_passages(),
        &options(48),
    );
    eprintln!("Gemma 3: {:?}\n{:?}", generation.text, generation.timings);
    assert!(!generation.text.trim().is_empty());
    assert_eq!(pieces.concat(), generation.text);
    assert!(
        !generation.text.contains("<end_of_turn>"),
        "{}",
        generation.text
    );
}

#[test]
fn stop_string_ends_generation_without_being_emitted() {
    let llm = smollm();
    let (full, _) = generate(llm, COUNT, &[], &counting(40));
    assert!(
        full.text.len() >= 24,
        "need some text to stop in: {:?}",
        full.text
    );
    // A stop string from the middle of the greedy answer, several tokens long.
    let chars: Vec<char> = full.text.chars().collect();
    let stop: String = chars[chars.len() / 3..chars.len() / 3 + 8].iter().collect();
    let expected = &full.text[..full.text.find(&stop).unwrap()];

    let stop_options = GenerationOptions {
        stop: vec![stop.clone()],
        ..counting(40)
    };
    let (stopped, pieces) = generate(llm, COUNT, &[], &stop_options);
    assert_eq!(stopped.stop_reason, StopReason::StopString);
    assert_eq!(stopped.text, expected, "stop string {stop:?}");
    assert_eq!(pieces.concat(), stopped.text);
}

#[test]
fn two_threads_generate_at_once() {
    let llm = smollm();
    let passages = espresso_passages();
    let greedy = GenerationOptions {
        temperature: 0.0,
        ..options(24)
    };
    let ask = || generate(llm, "How fine should I grind?", &passages, &greedy).0;
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(ask);
        let b = scope.spawn(ask);
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(!a.text.is_empty());
    assert_eq!(a.text, b.text, "same greedy question, same answer");
}

#[test]
fn the_raw_baseline_runs_prompts_longer_than_one_batch() {
    let llm = Llm::load(&config(SMOLLM2, 1, 1024)).unwrap();
    let (prefill, decode) = llm.raw_speed(600, 4).unwrap();
    assert!(prefill > 0.0 && decode > 0.0);
    let err = llm.raw_speed(1000, 100).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
