// trove's Kotlin binding against the real library and models. Gradle cannot
// be fetched on the CI machine, so `make bindings-test` compiles this with
// kotlinc and runs main(), which reports like a test runner.
package dev.trove

import java.io.File
import java.nio.file.Files
import java.time.Duration
import java.util.concurrent.CountDownLatch
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlin.concurrent.thread
import kotlinx.coroutines.runBlocking

val models: String = System.getenv("TROVE_MODELS") ?: error("set TROVE_MODELS")
val threads: UInt = (System.getenv("TROVE_TEST_THREADS") ?: "1").toUInt()
val root: File = Files.createTempDirectory("trove-kotlin").toFile()
val notes = File(root, "notes")
// EngineConfig.contextSize 0 means this many tokens.
const val DEFAULT_CONTEXT = 2048u

val NOTES = mapOf(
    "espresso.md" to "# Espresso\n\n## Recipe\n\n- **Dose:** 18 g of ground coffee.\n" +
        "- **Brew temperature:** 93 °C on the PID.\n- **Time:** 27 to 30 seconds.\n",
    "bicycle.md" to "# Bicycle care\n\nPump road tyres to 6 bar every week. Oil the chain " +
        "every 300 kilometres and after rides in the rain.\n",
    "sourdough.txt" to "Sourdough starter\n\nFeed the starter twice a day with equal weights " +
        "of rye flour and water.\n",
)

class Pieces(val stopAfter: Int = 0, val onFirst: () -> Unit = {}) : TokenListener {
    val pieces = mutableListOf<String>()
    val threadNames = mutableSetOf<String>()
    override fun onToken(piece: String): Boolean {
        synchronized(this) {
            pieces.add(piece)
            threadNames.add(Thread.currentThread().name)
        }
        if (pieces.size == 1) onFirst()
        return stopAfter == 0 || pieces.size < stopAfter
    }
    fun text() = synchronized(this) { pieces.joinToString("") }
}

class Progress(val stop: Boolean = false) : ProgressListener {
    val calls = mutableListOf<IndexProgress>()
    override fun onProgress(progress: IndexProgress): Boolean {
        calls.add(progress)
        return !stop
    }
}

class Events : WatchListener {
    val queue = LinkedBlockingQueue<WatchEvent>()
    override fun onEvent(event: WatchEvent): Boolean {
        queue.put(event)
        return true
    }
    /** The first event (waiting up to two minutes) that `match` maps to non-null. */
    fun <T> await(match: (WatchEvent) -> T?): T {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120)
        while (true) {
            val event = queue.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS)
                ?: throw AssertionError("no matching watch event within 120 s")
            match(event)?.let { return it }
        }
    }
}

fun check(condition: Boolean, message: () -> String) {
    if (!condition) throw AssertionError(message())
}

inline fun <reified E : Throwable> assertThrows(block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw AssertionError("expected ${E::class.simpleName}, got $e")
    }
    throw AssertionError("expected ${E::class.simpleName}, nothing was thrown")
}

fun config(store: File, modelsDir: String = models, reembed: Boolean = false) =
    EngineConfig(storeDir = store.path, modelsDir = modelsDir, threads = threads, reembed = reembed)

lateinit var engine: Engine

val tests: List<Pair<String, () -> Unit>> = listOf(
    "index reports progress and unchanged files cost nothing" to {
        notes.mkdirs()
        NOTES.forEach { (name, text) -> File(notes, name).writeText(text) }
        engine = Engine.open(config(File(root, "store")))
        val first = engine.indexPath(notes.path)
        check(first.filesIndexed == 3uL) { "indexed ${first.filesIndexed}" }
        val bytes = NOTES.values.sumOf { it.toByteArray().size }.toULong()
        check(first.bytesIndexed == bytes) { "bytes ${first.bytesIndexed} of $bytes" }
        check(first.stages.embedMs > 0.0 && first.stages.writeMs > 0.0) { "${first.stages}" }
        val progress = Progress()
        val again = engine.indexPath(notes.path, progress)
        check(again.filesUnchanged == 3uL && again.chunksEmbedded == 0uL) { "$again" }
        check(progress.calls.last().filesDone == 3uL) { "${progress.calls}" }
    },
    "stats describe the store and the last run" to {
        val before = System.currentTimeMillis() / 1000
        val summary = engine.indexPath(notes.path)
        val after = System.currentTimeMillis() / 1000
        val stats = engine.stats()
        check(stats.documents == 3uL && stats.chunks >= 3uL && stats.vectors == stats.chunks) { "$stats" }
        check(stats.storeDir == File(root, "store").path) { stats.storeDir }
        check(stats.llmPath.endsWith(".gguf")) { stats.llmPath }
        val model = stats.embeddingModel
        check(model.name == "all-MiniLM-L6-v2-int8" && model.dimensions == 384u) { "$model" }
        check(model.sha256.length == 64 && model.sha256.all { it in "0123456789abcdef" }) { model.sha256 }
        val run = stats.lastIndexRun ?: throw AssertionError("no last run")
        check(run.finishedAtUnix.toLong() in before..after) { "${run.finishedAtUnix} not in $before..$after" }
        val s = run.summary
        check(s.filesSeen == summary.filesSeen && s.filesUnchanged == 3uL && summary.filesUnchanged == 3uL) { "$run" }
        check(s.bytesIndexed == 0uL && summary.bytesIndexed == 0uL) { "$run" }
    },
    "models are described; KV cache and LoRA options reach the answer model" to {
        val listed = engine.models()
        check(listed.map { it.role } == listOf(ModelRole.EMBEDDING, ModelRole.ANSWER)) { "$listed" }
        check(listed[1].quantization == "Q4_1" && listed[1].chatTemplate == "chatml" && !listed[1].changed) { "${listed[1]}" }
        val adapter = LoraAdapter(path = File(models, "test-lora/zero.gguf").path, scale = 1.0f)
        val q8 = Engine.open(
            config(File(root, "store-kv")).copy(
                cacheTypeK = CacheType.Q8_0,
                cacheTypeV = CacheType.Q8_0,
                loraAdapters = listOf(adapter),
            ),
        )
        q8.addText("kettle", "Kettle", "Descale the kettle with citric acid monthly.", "{}")
        val answer = q8.ask("How do I descale the kettle?", AskOptions(maxTokens = 8u, strategy = AnswerStrategy.GENERATIVE, minGrounding = 0.0f))
        check(answer.text.isNotEmpty()) { "$answer" }
        check(q8.models().last().role == ModelRole.LORA_ADAPTER) { "adapter listed" }
        q8.close()
        // This library has no GPU backend: gpuLayers reaches the engine,
        // which refuses it when the answer model loads, naming the fix.
        check(gpuSupport() == GpuSupport(backends = listOf(), devices = listOf())) { "${gpuSupport()}" }
        val gpu = Engine.open(config(File(root, "store-kv")).copy(gpuLayers = 99u))
        val refused = assertThrows<TroveException.InvalidInput> {
            gpu.ask("How do I descale the kettle?", AskOptions(maxTokens = 8u, strategy = AnswerStrategy.GENERATIVE, minGrounding = 0.0f))
        }
        check(refused.message!!.contains("gpu_layers is 99")) { "$refused" }
        gpu.close()
    },
    "search finds the right note" to {
        val hits = engine.search("how hot should the water be for espresso?")
        check(hits[0].path!!.endsWith("espresso.md")) { "${hits[0]}" }
        check(hits[0].lines!!.first >= 1u && hits[0].lines!!.last >= hits[0].lines!!.first) { "${hits[0].lines}" }
        check(hits.all { it.chunkId > 0uL } && hits.map { it.chunkId }.toSet().size == hits.size) { "$hits" }
        val keyword = engine.search("chain", SearchOptions(k = 1u, mode = SearchMode.KEYWORD))
        check(keyword.size == 1 && keyword[0].path!!.endsWith("bicycle.md")) { "$keyword" }
    },
    "host text with tags, then removed" to {
        engine.addText("note-1", "Plant watering", "Water the fern every Tuesday.", """{"tags": ["garden"]}""")
        val hits = engine.search("fern", SearchOptions(tags = listOf("garden")))
        check(hits.map { it.documentId } == listOf("note-1") && hits[0].path == null) { "$hits" }
        check(engine.removeDocument("note-1")) { "removed" }
        check(!engine.removeDocument("note-1")) { "already gone" }
    },
    "keyword-searchable at once, embedded in the background" to {
        val bg = Engine.open(config(File(root, "store-background")).copy(embedInBackground = true))
        bg.pauseEmbedding()
        val added = bg.addText("kettle", "Kettle", "Descale the kettle with citric acid monthly.", "{}")
        check(added.chunksQueued == 1uL && added.chunksPending == 1uL) { "$added" }
        check(bg.documentStatus("kettle").state == DocumentState.PENDING_EMBEDDING) { "pending" }
        val early = bg.search("kettle descale")
        check(early[0].documentId == "kettle" && !early[0].embedded) { "$early" }
        val status = bg.embeddingStatus()
        check(status.pending == 1uL && status.paused) { "$status" }
        bg.setEmbeddingThreads(1u)
        val done = bg.finishEmbedding()
        check(done.chunksEmbedded == 1uL && done.chunksPending == 0uL) { "$done" }
        check(bg.search("kettle descale", SearchOptions(mode = SearchMode.VECTOR))[0].embedded) { "embedded" }
        bg.resumeEmbedding()
        check(!bg.embeddingStatus().paused) { "resumed" }
        bg.close()
    },
    "document status and explain" to {
        val espresso = File(notes, "espresso.md").canonicalPath
        val status = engine.documentStatus(espresso)
        check(status.state == DocumentState.INDEXED && status.chunks >= 1uL) { "$status" }
        check(engine.documentStatus("/nowhere.md").state == DocumentState.NOT_INDEXED) { "not indexed" }
        val why = engine.explain("espresso brew temperature", espresso)
        check(why.hybrid.rank == 1u && why.bestPassage?.documentId == espresso) { "$why" }
        check(why.reasons[0].contains("ranks it first")) { "${why.reasons}" }
    },
    "links and backlinks resolve by title" to {
        engine.addText("links-a", "Alpha", "Alpha links to [[Beta|the second note]] and [[Gamma]].", "{}")
        engine.addText("links-b", "Beta", "Beta stands alone.", "{}")
        try {
            val out = engine.outgoingLinks("links-a")
            check(out.map { it.target } == listOf("Beta", "Gamma")) { "$out" }
            check(out[0].alias == "the second note" && out[0].resolved?.documentId == "links-b") { "$out" }
            check(out[1].resolved == null) { "$out" }
            check(engine.backlinks("links-b").map { it.source.title } == listOf("Alpha")) { "backlinks" }
            assertThrows<TroveException.NotFound> { engine.backlinks("links-none") }
        } finally {
            engine.removeDocument("links-a")
            engine.removeDocument("links-b")
        }
    },
    "a multilingual store finds Japanese from English; one CJK character is a keyword" to {
        val e5 = File(models, "multilingual-e5-small/multilingual-e5-small-q4_0.gguf").path
        val cfg = config(File(root, "store-e5")).copy(embeddingPath = e5)
        Engine.open(cfg).use { e ->
            e.addText("ja", "フェリー", "フェリーは七時に港を出発します。", "{}")
            e.addText("de", "Kuchen", "Der Kuchen braucht 200 Gramm Zucker und drei Eier.", "{}")
            val hits = e.search("When does the ferry leave the harbour?", SearchOptions(k = 1u, mode = SearchMode.VECTOR))
            check(hits[0].documentId == "ja") { "$hits" }
            val one = e.search("港", SearchOptions(mode = SearchMode.KEYWORD))
            check(one.map { it.documentId } == listOf("ja")) { "$one" }
            check(e.stats().embeddingModel.name == "multilingual-e5-small") { "${e.stats().embeddingModel}" }
        }
    },
    "the default answer quotes its source; off-topic is declined" to {
        val answer = engine.ask("What brew temperature do I use for espresso?", AskOptions(), null)
        check(!answer.declined && answer.strategy == AnswerStrategy.EXTRACTIVE) { "$answer" }
        check(answer.text.contains("93") && answer.citations[0].hit.path!!.endsWith("espresso.md")) { answer.text }
        val support = answer.sentences[0].support!!
        val quote = answer.passages[support.n.toInt() - 1].text.substring(support.start.toInt(), support.end.toInt())
        check(answer.text.contains(quote.split(Regex("\\s+")).joinToString(" "))) { quote }
        val off = engine.ask("Who won the football world cup in 2014?", AskOptions(), null)
        check(off.declined && off.text.startsWith("Not in your documents") && off.citations.isEmpty()) { "$off" }
        check(off.grounding.score < off.grounding.threshold) { "${off.grounding}" }
        check(!engine.ask("Who won the football world cup in 2014?", AskOptions(minGrounding = 0f), null).declined)
    },
    "a conversation follows up and restores" to {
        val chat = Conversation()
        engine.askIn(chat, "What brew temperature do I use for espresso?", null, null)
        val follow = engine.askIn(chat, "And how long does it take?", null, null)
        check(follow.history!!.query == "What brew temperature do I use for espresso? And how long does it take?") { "${follow.history}" }
        check(follow.passages[0].path!!.endsWith("espresso.md")) { "${follow.passages}" }
        val restored = Conversation.fromTurns(chat.turns())
        val next = engine.askIn(restored, "And the dose?", null, null)
        check(next.history!!.query.startsWith("And how long does it take?")) { "${next.history}" }
        check(restored.turns().size == 3 && chat.turns().size == 2) { "turns" }
    },
    "ask streams the answer and cites the note" to {
        val listener = Pieces()
        val answer = engine.ask("What brew temperature do I use for espresso?", AskOptions(maxTokens = 48u, strategy = AnswerStrategy.GENERATIVE), listener)
        check(answer.text.isNotEmpty() && listener.text() == (answer.draft ?: answer.text)) { "${listener.pieces} vs ${answer.text}" }
        check(answer.citations.any { it.hit.path!!.endsWith("espresso.md") }) { "${answer.citations}" }
        check(answer.citations.all { it.hit == answer.passages[it.n.toInt() - 1] }) { "${answer.citations}" }
        check(answer.passages.isNotEmpty() && answer.dropped.isEmpty()) { "${answer.dropped}" }
        check(answer.timings.promptTokens > 10u) { "${answer.timings}" }
    },
    "passages that do not fit the context are dropped" to {
        // Leaves 150 prompt tokens: room for the question and one short
        // note, not for all three.
        val options = AskOptions(k = 3u, maxTokens = DEFAULT_CONTEXT - 150u, strategy = AnswerStrategy.GENERATIVE)
        val answer = engine.ask("What brew temperature do I use for espresso?", options, Pieces(stopAfter = 4))
        check(answer.dropped.isNotEmpty()) { "${answer.passages}" }
        val given = answer.passages.map { it.chunkId }
        val dropped = answer.dropped.map { it.chunkId }
        check(given.size + dropped.size == 3 && (given intersect dropped.toSet()).isEmpty()) { "$given $dropped" }
        check(answer.timings.promptTokens <= 150u) { "${answer.timings}" }
    },
    "a listener returning false stops generation" to {
        val listener = Pieces(stopAfter = 2)
        val answer = engine.ask("How often do I oil the chain?", AskOptions(maxTokens = 64u, strategy = AnswerStrategy.GENERATIVE), listener)
        check(listener.pieces.size == 2) { "${listener.pieces}" }
        check(answer.stopReason == StopReason.CALLBACK) { "${answer.stopReason}" }
    },
    "cancel from another thread" to {
        val token = CancelToken()
        val started = CountDownLatch(1)
        val canceller = thread { started.await(60, TimeUnit.SECONDS); token.cancel() }
        assertThrows<TroveException.Cancelled> {
            engine.ask("Describe every note in detail.", AskOptions(maxTokens = 200u, strategy = AnswerStrategy.GENERATIVE, minGrounding = 0f), Pieces(onFirst = { started.countDown() }), token)
        }
        canceller.join()
        check(token.isCancelled()) { "raised" }
    },
    "suspend variants; the listener runs on an engine thread" to {
        val more = File(root, "more").apply { mkdirs() }
        File(more, "kettle.md").writeText("# Kettle\n\nDescale the kettle monthly with citric acid.\n")
        val listener = Pieces()
        val (summary, answer) = runBlocking {
            val summary = engine.indexPathAsync(more.path)
            summary to engine.askAsync("How do I descale the kettle?", AskOptions(maxTokens = 24u, strategy = AnswerStrategy.GENERATIVE), listener)
        }
        check(summary.filesIndexed == 1uL) { "$summary" }
        check((answer.draft ?: answer.text) == listener.text()) { "streamed: the draft, or the text" }
        check(Thread.currentThread().name !in listener.threadNames) { "${listener.threadNames}" }
    },
    "typed errors" to {
        assertThrows<TroveException.NotFound> { engine.indexPath(File(root, "no-such-folder").path) }
        assertThrows<TroveException.InvalidInput> { engine.search("   ") }
        assertThrows<TroveException.Cancelled> { engine.indexPath(notes.path, Progress(stop = true)) }
        val e = assertThrows<TroveException> { Engine.open(config(File(root, "s2"), File(root, "none").path)) }
        check(e is TroveException.NotFound || e is TroveException.Model) { "$e" }
    },
    "watch follows a new file until stopped" to {
        val folder = File(root, "watched").apply { mkdirs() }
        val events = Events()
        val watcher = engine.watch(listOf(folder.path), events, debounceMs = 100u)
        try {
            events.await { it as? WatchEvent.Ready }
            File(folder, "vents.md").writeText("# Greenhouse\n\nThe vents open at 26 degrees.\n")
            val indexed = events.await { e -> (e as? WatchEvent.Indexed)?.takeIf { it.path.endsWith("vents.md") } }
            check(indexed.chunksEmbedded == 1uL) { "$indexed" }
            // Counted from the first file-system event, so the quiet wait is in it.
            check(indexed.latency >= Duration.ofMillis(100)) { "${indexed.latency}" }
            val hits = engine.search("greenhouse vents", SearchOptions(k = 1u, mode = SearchMode.KEYWORD))
            check(hits.isNotEmpty() && hits[0].path!!.endsWith("vents.md")) { "$hits" }
        } finally {
            watcher.stop()
        }
        watcher.stop() // a second stop does nothing
    },
    "a store of another embedding model is refused, then re-embedded" to {
        val store = File(root, "store-other")
        Engine.open(config(store)).use {
            check(it.stats().lastIndexRun == null) { "a new store has no last run" }
            it.addText("a", "Sky", "The sky is blue.")
        }
        val other = otherEmbeddingModel()
        val e = assertThrows<TroveException.IncompatibleStore> { Engine.open(config(store, other)) }
        check(e.message!!.contains("reembed") || e.message!!.contains("re-embed")) { "${e.message}" }
        Engine.open(config(store, other, reembed = true)).use {
            check(it.stats().documents == 1uL) { "documents" }
            check(it.search("sky colour")[0].documentId == "a") { "search" }
        }
    },
)

/** The same model files, but a tokenizer.json one byte longer: another fingerprint. */
fun otherEmbeddingModel(): String {
    val other = File(root, "other-models")
    val emb = File(other, "all-MiniLM-L6-v2-int8").apply { mkdirs() }
    val real = File(models, "all-MiniLM-L6-v2-int8")
    // Links to files only: a link to a models folder would let a recursive
    // delete of the temporary tree reach the real models.
    val ort = File(models, "onnxruntime").listFiles()!!.single()
    File(other, "onnxruntime").mkdirs()
    Files.createSymbolicLink(File(other, "onnxruntime/${ort.name}").toPath(), ort.toPath())
    val llm = "SmolLM2-135M-Instruct.Q4_1.gguf"
    Files.createSymbolicLink(File(other, llm).toPath(), File(models, llm).toPath())
    for (f in real.listFiles()!!) {
        if (f.name != "tokenizer.json") Files.createSymbolicLink(File(emb, f.name).toPath(), f.toPath())
    }
    File(emb, "tokenizer.json").writeText(File(real, "tokenizer.json").readText() + "\n")
    return other.path
}

fun main() {
    var failed = 0
    val started = System.nanoTime()
    for ((name, test) in tests) {
        try {
            test()
            println("PASS $name")
        } catch (e: Throwable) {
            failed++
            println("FAIL $name: $e")
        }
    }
    engine.close()
    // java.nio's walk does not follow links (File.deleteRecursively would).
    Files.walk(root.toPath()).sorted(Comparator.reverseOrder()).forEach { Files.delete(it) }
    val seconds = (System.nanoTime() - started) / 1e9
    println("Tests run: ${tests.size}, passed: ${tests.size - failed}, failed: $failed (%.1f s)".format(seconds))
    kotlin.system.exitProcess(if (failed == 0) 0 else 1)
}
