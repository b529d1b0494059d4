"""trove's Python binding against the real library and models.

Run by `make bindings-test` (TROVE_MODELS points at the models folder; the
generated trove.py and libtrove.so sit in bindings/python/).
"""

import asyncio
import datetime
import os
import shutil
import threading
import time

import pytest

import trove

MODELS = os.environ["TROVE_MODELS"]
THREADS = int(os.environ.get("TROVE_TEST_THREADS", "1"))
# EngineConfig.context_size 0 means this many tokens.
DEFAULT_CONTEXT = 2048

NOTES = {
    "espresso.md": "# Espresso\n\n## Recipe\n\n- **Dose:** 18 g of ground coffee.\n"
    "- **Brew temperature:** 93 °C on the PID.\n- **Time:** 27 to 30 seconds.\n",
    "bicycle.md": "# Bicycle care\n\nPump road tyres to 6 bar every week. Oil the chain "
    "every 300 kilometres and after rides in the rain.\n",
    "sourdough.txt": "Sourdough starter\n\nFeed the starter twice a day with equal weights "
    "of rye flour and water.\n",
}


def write_notes(folder):
    os.makedirs(folder, exist_ok=True)
    for name, text in NOTES.items():
        with open(os.path.join(folder, name), "w", encoding="utf-8") as f:
            f.write(text)


@pytest.fixture(scope="module")
def vault(tmp_path_factory):
    root = tmp_path_factory.mktemp("vault")
    notes = root / "notes"
    write_notes(notes)
    engine = trove.Engine.open(
        trove.EngineConfig(store_dir=str(root / "store"), models_dir=MODELS, threads=THREADS)
    )
    summary = engine.index_path(str(notes))
    assert summary.files_indexed == 3
    assert summary.bytes_indexed == sum(len(t.encode()) for t in NOTES.values())
    assert summary.stages.embed_ms > 0 and summary.stages.write_ms > 0
    return engine, root, notes


class Pieces(trove.TokenListener):
    def __init__(self, stop_after=None, on_first=None):
        self.pieces = []
        self.threads = set()
        self.stop_after = stop_after
        self.on_first = on_first

    def on_token(self, piece):
        self.pieces.append(piece)
        self.threads.add(threading.get_ident())
        if self.on_first and len(self.pieces) == 1:
            self.on_first()
        return self.stop_after is None or len(self.pieces) < self.stop_after


class Progress(trove.ProgressListener):
    def __init__(self, stop=False):
        self.calls = []
        self.stop = stop

    def on_progress(self, progress):
        self.calls.append(progress)
        return not self.stop


def test_index_reports_progress_and_unchanged_files_cost_nothing(vault):
    engine, _, notes = vault
    progress = Progress()
    again = engine.index_path(str(notes), listener=progress)
    assert again.files_unchanged == 3 and again.chunks_embedded == 0
    assert progress.calls and progress.calls[-1].files_done == 3


def test_stats_describe_the_store_and_the_last_run(vault):
    engine, root, notes = vault
    before = int(time.time())
    summary = engine.index_path(str(notes))
    after = int(time.time())
    stats = engine.stats()
    assert stats.documents == 3 and stats.chunks >= 3 and stats.vectors == stats.chunks
    assert isinstance(stats.store_dir, str) and stats.store_dir == str(root / "store")
    assert stats.llm_path.endswith(".gguf")
    model = stats.embedding_model
    assert model.name == "all-MiniLM-L6-v2-int8" and model.dimensions == 384
    assert len(model.sha256) == 64 and int(model.sha256, 16) >= 0
    run = stats.last_index_run
    assert run is not None and before <= run.finished_at_unix <= after
    assert (run.summary.files_seen, run.summary.files_unchanged, run.summary.bytes_indexed) == (
        summary.files_seen,
        summary.files_unchanged,
        summary.bytes_indexed,
    ) == (3, 3, 0)


def test_models_are_described_and_options_reach_the_answer_model(vault, tmp_path):
    engine, root, notes = vault
    models = engine.models()
    assert [m.role for m in models] == [trove.ModelRole.EMBEDDING, trove.ModelRole.ANSWER]
    answer = models[1]
    assert (answer.format, answer.quantization, answer.chat_template) == ("gguf", "Q4_1", "chatml")
    assert len(answer.sha256) == 64 and not answer.changed

    adapter = trove.LoraAdapter(path=os.path.join(MODELS, "test-lora", "zero.gguf"), scale=1.0)
    q8 = trove.Engine.open(
        trove.EngineConfig(
            store_dir=str(tmp_path / "store-kv"),
            models_dir=MODELS,
            threads=THREADS,
            cache_type_k=trove.CacheType.Q8_0,
            cache_type_v=trove.CacheType.Q4_0,
            lora_adapters=[adapter],
        )
    )
    q8.add_text("kettle", "Kettle", "Descale the kettle with citric acid monthly.")
    options = trove.AskOptions(strategy=trove.AnswerStrategy.GENERATIVE, max_tokens=8, min_grounding=0.0)
    assert q8.ask("How do I descale the kettle?", options).text
    assert q8.models()[-1].role == trove.ModelRole.LORA_ADAPTER

    # This library has no GPU backend: gpu_layers reaches the engine, which
    # refuses it when the answer model loads, naming the fix.
    assert trove.gpu_support() == trove.GpuSupport(backends=[], devices=[])
    gpu = trove.Engine.open(
        trove.EngineConfig(store_dir=str(tmp_path / "store-kv"), models_dir=MODELS, threads=THREADS, gpu_layers=99)
    )
    with pytest.raises(trove.TroveError.InvalidInput, match="gpu_layers is 99.*`vulkan`"):
        gpu.ask("How do I descale the kettle?", options)


def test_search_finds_the_right_note_with_lines(vault):
    engine, _, _ = vault
    hits = engine.search("how hot should the water be for espresso?")
    assert hits[0].path.endswith("espresso.md")
    assert hits[0].title == "Espresso"
    assert hits[0].lines.first >= 1 and hits[0].lines.last >= hits[0].lines.first
    assert all(h.chunk_id > 0 for h in hits)
    assert len({h.chunk_id for h in hits}) == len(hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    keyword = engine.search("chain", trove.SearchOptions(k=1, mode=trove.SearchMode.KEYWORD))
    assert len(keyword) == 1 and keyword[0].path.endswith("bicycle.md")


def test_host_text_with_tags_and_removal(vault):
    engine, _, _ = vault
    engine.add_text("note-1", "Plant watering", "Water the fern every Tuesday.", '{"tags": ["garden"]}')
    hits = engine.search("fern", trove.SearchOptions(tags=["garden"]))
    assert [h.document_id for h in hits] == ["note-1"] and hits[0].path is None
    assert engine.remove_document("note-1") is True
    assert engine.remove_document("note-1") is False


def test_links_and_backlinks_resolve_by_title(vault):
    engine, _, _ = vault
    engine.add_text("links-a", "Alpha", "Alpha links to [[Beta|the second note]] and [[Gamma]].")
    engine.add_text("links-b", "Beta", "Beta stands alone.")
    try:
        out = engine.outgoing_links("links-a")
        assert [l.target for l in out] == ["Beta", "Gamma"]
        assert out[0].alias == "the second note" and out[0].resolved.document_id == "links-b"
        assert out[1].resolved is None
        assert [l.source.title for l in engine.backlinks("links-b")] == ["Alpha"]
        with pytest.raises(trove.TroveError.NotFound):
            engine.backlinks("links-none")
    finally:
        engine.remove_document("links-a")
        engine.remove_document("links-b")


def test_keyword_searchable_at_once_and_embedded_in_the_background(tmp_path):
    engine = trove.Engine.open(
        trove.EngineConfig(
            store_dir=str(tmp_path / "store"), models_dir=MODELS, threads=THREADS, embed_in_background=True
        )
    )
    engine.pause_embedding()
    added = engine.add_text("kettle", "Kettle", "Descale the kettle with citric acid monthly.")
    assert (added.chunks_queued, added.chunks_pending) == (1, 1)
    assert engine.document_status("kettle").state == trove.DocumentState.PENDING_EMBEDDING
    early = engine.search("kettle descale")
    assert early[0].document_id == "kettle" and not early[0].embedded
    status = engine.embedding_status()
    assert (status.pending, status.paused) == (1, True)
    engine.set_embedding_threads(1)
    done = engine.finish_embedding()
    assert (done.chunks_embedded, done.chunks_pending) == (1, 0)
    vector = engine.search("kettle descale", trove.SearchOptions(mode=trove.SearchMode.VECTOR))
    assert vector[0].embedded
    engine.resume_embedding()
    assert not engine.embedding_status().paused


def test_document_status_and_explain(vault):
    engine, _, notes = vault
    espresso = os.path.realpath(notes / "espresso.md")
    status = engine.document_status(espresso)
    assert status.state == trove.DocumentState.INDEXED and status.chunks >= 1
    assert engine.document_status("/nowhere.md").state == trove.DocumentState.NOT_INDEXED
    why = engine.explain("espresso brew temperature", espresso)
    assert why.hybrid.rank == 1 and why.best_passage.document_id == espresso
    assert "ranks it first" in why.reasons[0]


GENERATIVE = trove.AnswerStrategy.GENERATIVE


def test_the_default_answer_quotes_its_source_and_off_topic_is_declined(vault):
    engine, _, _ = vault
    answer = engine.ask("What brew temperature do I use for espresso?", trove.AskOptions(), None)
    assert not answer.declined and answer.strategy == trove.AnswerStrategy.EXTRACTIVE
    assert "93" in answer.text and answer.citations[0].hit.path.endswith("espresso.md")
    support = answer.sentences[0].support
    quote = answer.passages[support.n - 1].text[support.start : support.end]
    assert " ".join(quote.split()) in answer.text
    assert answer.grounding.score >= answer.grounding.threshold
    off = engine.ask("Who won the football world cup in 2014?", trove.AskOptions(), None)
    assert off.declined and off.text.startswith("Not in your documents")
    assert off.citations == [] and off.grounding.score < off.grounding.threshold
    forced = engine.ask(
        "Who won the football world cup in 2014?", trove.AskOptions(min_grounding=0.0), None
    )
    assert not forced.declined


def test_a_conversation_follows_up_and_restores(vault):
    engine, _, _ = vault
    chat = trove.Conversation()
    engine.ask_in(chat, "What brew temperature do I use for espresso?")
    follow = engine.ask_in(chat, "And how long does it take?")
    assert follow.history.query == (
        "What brew temperature do I use for espresso? And how long does it take?"
    )
    assert follow.passages[0].path.endswith("espresso.md")
    turns = chat.turns()
    assert [t.question for t in turns][1] == "And how long does it take?"
    restored = trove.Conversation.from_turns(turns)
    nxt = engine.ask_in(restored, "And the dose?")
    assert nxt.history.query.startswith("And how long does it take?")
    assert len(restored.turns()) == 3 and len(chat.turns()) == 2
    chat.clear()
    assert chat.turns() == []


def test_ask_streams_and_cites(vault):
    engine, _, _ = vault
    listener = Pieces()
    answer = engine.ask(
        "What brew temperature do I use for espresso?",
        trove.AskOptions(max_tokens=48, strategy=GENERATIVE),
        listener,
    )
    assert "".join(listener.pieces) == (answer.draft or answer.text) and answer.text
    assert any(c.hit.path.endswith("espresso.md") for c in answer.citations)
    assert all(c.hit == answer.passages[c.n - 1] for c in answer.citations)
    assert answer.passages and answer.dropped == []
    assert answer.timings.prompt_tokens > 10


def test_passages_that_do_not_fit_the_context_are_dropped(vault):
    engine, _, _ = vault
    # Leaves 150 prompt tokens: room for the question and one short note,
    # not for all three.
    options = trove.AskOptions(k=3, max_tokens=DEFAULT_CONTEXT - 150, strategy=GENERATIVE)
    answer = engine.ask("What brew temperature do I use for espresso?", options, Pieces(stop_after=4))
    assert answer.dropped, answer.passages
    given = [h.chunk_id for h in answer.passages]
    dropped = [h.chunk_id for h in answer.dropped]
    assert len(given) + len(dropped) == 3 and not set(given) & set(dropped)
    assert answer.timings.prompt_tokens <= 150


def test_listener_returning_false_stops_generation(vault):
    engine, _, _ = vault
    listener = Pieces(stop_after=2)
    answer = engine.ask("How often do I oil the chain?", trove.AskOptions(max_tokens=64, strategy=GENERATIVE), listener)
    assert len(listener.pieces) == 2
    assert answer.stop_reason == trove.StopReason.CALLBACK
    assert answer.text == "".join(listener.pieces)


def test_cancel_from_another_thread(vault):
    engine, _, _ = vault
    token = trove.CancelToken()
    started = threading.Event()
    canceller = threading.Thread(target=lambda: (started.wait(60), token.cancel()))
    canceller.start()
    with pytest.raises(trove.TroveError.Cancelled):
        engine.ask(
            "Describe every note in detail.",
            trove.AskOptions(max_tokens=200, strategy=GENERATIVE, min_grounding=0.0),
            Pieces(on_first=started.set),
            token,
        )
    canceller.join()
    assert token.is_cancelled()


def test_async_variants_and_listener_on_an_engine_thread(vault):
    engine, root, _ = vault
    more = root / "more"
    more.mkdir()
    (more / "kettle.md").write_text("# Kettle\n\nDescale the kettle monthly with citric acid.\n")

    async def run():
        summary = await engine.index_path_async(str(more))
        listener = Pieces()
        answer = await engine.ask_async(
            "How do I descale the kettle?", trove.AskOptions(max_tokens=24, strategy=GENERATIVE), listener
        )
        return summary, listener, answer

    summary, listener, answer = asyncio.run(run())
    assert summary.files_indexed == 1
    # What streamed is the model's draft; the answer is the checked text.
    assert (answer.draft or answer.text) == "".join(listener.pieces)
    assert threading.get_ident() not in listener.threads


def test_typed_errors(vault, tmp_path):
    engine, _, _ = vault
    with pytest.raises(trove.TroveError.NotFound):
        engine.index_path(str(tmp_path / "no-such-folder"))
    with pytest.raises(trove.TroveError.InvalidInput):
        engine.search("   ")
    with pytest.raises(trove.TroveError.Cancelled):
        engine.index_path(str(tmp_path), listener=Progress(stop=True))
    with pytest.raises((trove.TroveError.NotFound, trove.TroveError.Model)):
        trove.Engine.open(
            trove.EngineConfig(store_dir=str(tmp_path / "s"), models_dir=str(tmp_path / "none"))
        )


def other_embedding_model(tmp_path):
    """The same model files, but a tokenizer.json one byte longer: another fingerprint."""
    other = tmp_path / "other-models"
    emb = other / "all-MiniLM-L6-v2-int8"
    emb.mkdir(parents=True)
    real = os.path.join(MODELS, "all-MiniLM-L6-v2-int8")
    for name in ("onnxruntime", "SmolLM2-135M-Instruct.Q4_1.gguf"):
        os.symlink(os.path.join(MODELS, name), other / name)
    for name in os.listdir(real):
        if name != "tokenizer.json":
            os.symlink(os.path.join(real, name), emb / name)
    shutil.copy(os.path.join(real, "tokenizer.json"), emb / "tokenizer.json")
    with open(emb / "tokenizer.json", "a") as f:
        f.write("\n")
    return str(other)


def test_incompatible_store_then_reembed(tmp_path):
    store = str(tmp_path / "store")
    first = trove.Engine.open(trove.EngineConfig(store_dir=store, models_dir=MODELS, threads=THREADS))
    assert first.stats().last_index_run is None
    first.add_text("a", "Sky", "The sky is blue.")
    del first
    other = other_embedding_model(tmp_path)
    with pytest.raises(trove.TroveError.IncompatibleStore) as err:
        trove.Engine.open(trove.EngineConfig(store_dir=store, models_dir=other, threads=THREADS))
    assert "reembed" in str(err.value) or "re-embed" in str(err.value)
    converted = trove.Engine.open(
        trove.EngineConfig(store_dir=store, models_dir=other, threads=THREADS, reembed=True)
    )
    assert converted.stats().documents == 1
    assert converted.search("sky colour")[0].document_id == "a"


def test_multilingual_store_and_reembed_converts(tmp_path):
    store = str(tmp_path / "store")
    english = trove.Engine.open(trove.EngineConfig(store_dir=store, models_dir=MODELS, threads=THREADS))
    english.add_text("ja", "フェリー", "フェリーは七時に港を出発します。")
    assert [h.document_id for h in english.search("港", trove.SearchOptions(mode=trove.SearchMode.KEYWORD))] == ["ja"]
    with pytest.raises(trove.TroveError.InvalidInput):
        english.search("。！", trove.SearchOptions(mode=trove.SearchMode.KEYWORD))
    # A lone surrogate has no UTF-8 form: refused before it reaches trove.
    with pytest.raises(Exception):
        english.search("ferry \ud800")
    del english
    e5 = os.path.join(MODELS, "multilingual-e5-small", "multilingual-e5-small-q4_0.gguf")
    config = trove.EngineConfig(store_dir=store, models_dir=MODELS, threads=THREADS, embedding_path=e5)
    with pytest.raises(trove.TroveError.IncompatibleStore):
        trove.Engine.open(config)
    config.reembed = True
    multilingual = trove.Engine.open(config)
    assert multilingual.stats().embedding_model.name == "multilingual-e5-small"
    hits = multilingual.search("When does the ferry leave?", trove.SearchOptions(mode=trove.SearchMode.VECTOR))
    assert hits[0].document_id == "ja"


class Events(trove.WatchListener):
    def __init__(self):
        self.events = []
        self.changed = threading.Condition()

    def on_event(self, event):
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()
        return True

    def wait_for(self, predicate, timeout=120):
        with self.changed:
            return self.changed.wait_for(lambda: any(predicate(e) for e in self.events), timeout)


def test_watch_follows_a_new_file_until_stopped(vault):
    engine, root, _ = vault
    folder = root / "watched"
    folder.mkdir()
    events = Events()
    watcher = engine.watch([str(folder)], events, debounce_ms=100)
    try:
        assert events.wait_for(lambda e: isinstance(e, trove.WatchEvent.READY))
        (folder / "vents.md").write_text("# Greenhouse\n\nThe vents open at 26 degrees.\n")
        assert events.wait_for(
            lambda e: isinstance(e, trove.WatchEvent.INDEXED) and e.path.endswith("vents.md")
        )
        indexed = next(e for e in events.events if isinstance(e, trove.WatchEvent.INDEXED))
        assert indexed.chunks_embedded == 1
        # Counted from the first file-system event, so the quiet wait is in it.
        assert isinstance(indexed.latency, datetime.timedelta)
        assert indexed.latency >= datetime.timedelta(milliseconds=100)
        hits = engine.search("greenhouse vents", trove.SearchOptions(k=1, mode=trove.SearchMode.KEYWORD))
        assert hits and hits[0].path.endswith("vents.md")
    finally:
        watcher.stop()
    watcher.stop()  # a second stop does nothing
