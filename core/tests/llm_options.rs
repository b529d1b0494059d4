//! The answer model's options against real GGUF files: LoRA adapters
//! (written by scripts/make_test_lora.py during `make setup`), KV cache
//! types, and the memory check that counts weights, cache and compute.

mod common;

use std::path::PathBuf;

use trove::llm::{CacheType, GenerationOptions, Llm, LlmConfig, LoraAdapter, Passage};
use trove::{AnswerStrategy, AskOptions, CancelToken, Engine, ErrorKind, ModelRole};

const SMOLLM2: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// A test model in the models folder; a missing one fails the test, it is
/// never skipped.
fn model(relative: &str) -> PathBuf {
    let path = common::models_dir().join(relative);
    assert!(
        path.is_file(),
        "test model {} is missing: run `make setup` (or point TROVE_MODELS at the models)",
        path.display()
    );
    path
}

fn smollm(adapters: Vec<LoraAdapter>, cache: CacheType) -> LlmConfig {
    LlmConfig {
        threads: 2,
        context_size: 1024,
        cache_type_k: cache,
        cache_type_v: cache,
        lora_adapters: adapters,
        gpu_layers: common::GPU_LAYERS,
        ..LlmConfig::new(model(SMOLLM2))
    }
}

/// Greedy answer to a fixed question over one passage.
fn answer(config: &LlmConfig) -> String {
    let llm = Llm::load(config).expect("the model loads");
    let passages = [Passage {
        header: "notes/espresso.md — Brewing".into(),
        text: "Brew espresso with water at 93 °C. A double shot takes 25 to 30 seconds.".into(),
    }];
    let options = GenerationOptions {
        max_tokens: 32,
        ..Default::default()
    };
    llm.generate(
        "How hot should the water be for espresso?",
        &passages,
        &options,
        &CancelToken::new(),
        &mut |_| true,
    )
    .expect("generation succeeds")
    .text
}

#[test]
fn a_zero_lora_adapter_leaves_greedy_output_identical_and_a_random_one_changes_it() {
    let base = answer(&smollm(Vec::new(), CacheType::F16));
    assert!(!base.trim().is_empty());
    let zero = LoraAdapter::new(model("test-lora/zero.gguf"), 1.0);
    assert_eq!(answer(&smollm(vec![zero], CacheType::F16)), base);
    let random = LoraAdapter::new(model("test-lora/random.gguf"), 1.0);
    assert_ne!(answer(&smollm(vec![random.clone()], CacheType::F16)), base);
    // Scale 0 turns the adapter off.
    let off = LoraAdapter {
        scale: 0.0,
        ..random
    };
    assert_eq!(answer(&smollm(vec![off], CacheType::F16)), base);
}

#[test]
fn bad_lora_adapters_are_refused_with_the_reason() {
    let load = |adapters| {
        Llm::load(&smollm(adapters, CacheType::F16))
            .err()
            .expect("refused")
    };

    let missing = load(vec![LoraAdapter::new("/nonexistent/adapter.gguf", 1.0)]);
    assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");

    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("adapter.gguf");
    std::fs::write(&text, "not an adapter").unwrap();
    let not_gguf = load(vec![LoraAdapter::new(&text, 1.0)]);
    assert_eq!(not_gguf.kind(), ErrorKind::Model);
    assert!(not_gguf.message().contains("not a GGUF"), "{not_gguf}");

    // A GGUF that is a model, not an adapter.
    let model_file = load(vec![LoraAdapter::new(model(SMOLLM2), 1.0)]);
    assert_eq!(model_file.kind(), ErrorKind::Model);
    assert!(
        model_file.message().contains("LoRA adapter"),
        "{model_file}"
    );

    let zero = LoraAdapter::new(model("test-lora/zero.gguf"), 1.0);
    let two = load(vec![zero.clone(), zero.clone()]);
    assert_eq!(two.kind(), ErrorKind::InvalidInput, "{two}");

    let nan = load(vec![LoraAdapter {
        scale: f32::NAN,
        ..zero
    }]);
    assert_eq!(nan.kind(), ErrorKind::InvalidInput, "{nan}");
}

#[test]
fn quantized_kv_caches_answer_and_plan_less_memory() {
    let f16 = smollm(Vec::new(), CacheType::F16);
    let base = answer(&f16);
    for cache in [CacheType::Q8_0, CacheType::Q4_0] {
        let config = smollm(Vec::new(), cache);
        let text = answer(&config);
        assert!(!text.trim().is_empty(), "{cache:?}");
        let (plan, f16_plan) = (config.memory_plan().unwrap(), f16.memory_plan().unwrap());
        assert!(
            plan.kv_cache < f16_plan.kv_cache,
            "{cache:?}: {plan:?} vs {f16_plan:?}"
        );
        assert_eq!(plan.weights, f16_plan.weights);
    }
    // q8_0 keys and values stay close to f16: the same greedy answer here.
    assert_eq!(answer(&smollm(Vec::new(), CacheType::Q8_0)), base);
}

#[test]
fn the_memory_check_counts_the_cache_at_the_chosen_context_and_names_the_numbers() {
    // SmolLM2: 30 layers × 3 KV heads × 64 × (K + V) × 2 bytes = 23,040 B a token.
    let mut config = smollm(Vec::new(), CacheType::F16);
    config.context_size = 8192;
    let plan = config.memory_plan().unwrap();
    assert_eq!(plan.kv_cache, 23_040 * 8192);
    config.memory_limit_bytes = Some(plan.total() - 1);
    let err = Llm::load(&config).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::Model);
    for part in [
        "weights",
        "KV cache 180 MiB at 8192 tokens f16/f16",
        "compute",
        "q8_0",
    ] {
        assert!(err.message().contains(part), "{part}: {err}");
    }
    // The same limit holds a q8_0 cache: about half of it.
    config.cache_type_k = CacheType::Q8_0;
    config.cache_type_v = CacheType::Q8_0;
    assert!(config.memory_plan().unwrap().total() < plan.total());
    Llm::load(&config).expect("a q8_0 cache fits where f16 did not");
}

fn generated_ask(engine: &Engine) -> trove::Result<trove::Answer> {
    let mut options = AskOptions {
        strategy: AnswerStrategy::Generative,
        min_grounding: 0.0,
        ..Default::default()
    };
    options.generation.max_tokens = 8;
    engine.ask("How hot should the water be?", &options, &mut |_| true)
}

#[test]
fn the_store_refuses_an_answer_model_changed_since_it_answered_until_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let llm = dir.path().join("answer.gguf");
    std::fs::copy(model(SMOLLM2), &llm).unwrap();
    let mut config = common::config(&dir.path().join("store"));
    config.models.llm = llm.clone();
    config.cache_type_k = CacheType::Q8_0;
    config.lora_adapters = vec![LoraAdapter::new(model("test-lora/zero.gguf"), 1.0)];
    let notes = dir.path().join("notes");
    common::write(&notes, "espresso.md", "# Espresso\n\nBrew at 93 °C.\n");
    {
        let engine = Engine::open(config.clone()).unwrap();
        common::index(&engine, &notes);
        let models = engine.models(false).unwrap();
        let roles: Vec<ModelRole> = models.iter().map(|m| m.role).collect();
        assert_eq!(
            roles,
            [
                ModelRole::Embedding,
                ModelRole::Answer,
                ModelRole::LoraAdapter
            ]
        );
        let answer = &models[1];
        assert_eq!(answer.quantization.as_deref(), Some("Q4_1"));
        assert_eq!(answer.chat_template.as_deref(), Some("chatml"));
        assert_eq!(answer.context_length, Some(8192));
        assert_eq!(
            answer.recorded_by, None,
            "a copy outside models/ has no record yet"
        );
        generated_ask(&engine).unwrap();
        let recorded = &engine.models(false).unwrap()[1];
        assert_eq!(recorded.recorded_by.as_deref(), Some("store"));
        assert_eq!(
            recorded.recorded_sha256.as_deref(),
            Some(answer.sha256.as_str())
        );
    }
    // Bytes after the tensor data: llama.cpp still loads it, but it is not
    // the file the store answered with.
    let mut bytes = std::fs::read(&llm).unwrap();
    bytes.extend_from_slice(&[0; 64]);
    std::fs::write(&llm, bytes).unwrap();
    let engine = Engine::open(config).unwrap();
    let err = generated_ask(&engine).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Model, "{err}");
    assert!(
        err.message()
            .contains("changed since this store recorded it"),
        "{err}"
    );
    let listed = &engine.models(false).unwrap()[1];
    assert!(listed.changed, "{listed:?}");
    let accepted = &engine.models(true).unwrap()[1];
    assert!(!accepted.changed);
    generated_ask(&engine).unwrap();
}
