// trove's Swift binding against the real library and models (XCTest).
// Run by `make swift-test` inside the Swift chroot; TROVE_MODELS points at
// the models folder.
import Foundation
import XCTest

@testable import Trove

let models = ProcessInfo.processInfo.environment["TROVE_MODELS"]!
let threads = UInt32(ProcessInfo.processInfo.environment["TROVE_TEST_THREADS"] ?? "1")!
// EngineConfig.contextSize 0 means this many tokens.
let defaultContext: UInt32 = 2048

let notes: [String: String] = [
    "espresso.md": "# Espresso\n\n## Recipe\n\n- **Dose:** 18 g of ground coffee.\n"
        + "- **Brew temperature:** 93 °C on the PID.\n- **Time:** 27 to 30 seconds.\n",
    "bicycle.md": "# Bicycle care\n\nPump road tyres to 6 bar every week. Oil the chain "
        + "every 300 kilometres and after rides in the rain.\n",
    "sourdough.txt": "Sourdough starter\n\nFeed the starter twice a day with equal weights "
        + "of rye flour and water.\n",
]

final class Pieces: TokenListener, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var pieces: [String] = []
    private(set) var onMainThread = false
    let stopAfter: Int
    let onFirst: () -> Void

    init(stopAfter: Int = 0, onFirst: @escaping () -> Void = {}) {
        self.stopAfter = stopAfter
        self.onFirst = onFirst
    }

    func onToken(piece: String) -> Bool {
        lock.lock()
        pieces.append(piece)
        let count = pieces.count
        if Thread.isMainThread { onMainThread = true }
        lock.unlock()
        if count == 1 { onFirst() }
        return stopAfter == 0 || count < stopAfter
    }

    var text: String {
        lock.lock()
        defer { lock.unlock() }
        return pieces.joined()
    }
}

final class Progress: ProgressListener, @unchecked Sendable {
    var calls: [IndexProgress] = []
    let stop: Bool
    init(stop: Bool = false) { self.stop = stop }
    func onProgress(progress: IndexProgress) -> Bool {
        calls.append(progress)
        return !stop
    }
}

final class Events: WatchListener, @unchecked Sendable {
    private let condition = NSCondition()
    private var events: [WatchEvent] = []

    func onEvent(event: WatchEvent) -> Bool {
        condition.lock()
        events.append(event)
        condition.broadcast()
        condition.unlock()
        return true
    }

    /// The first event (waiting up to two minutes) that `match` maps to non-nil.
    func waitFor<T>(_ match: (WatchEvent) -> T?) -> T? {
        let deadline = Date().addingTimeInterval(120)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let found = events.compactMap(match).first { return found }
            if !condition.wait(until: deadline) { return events.compactMap(match).first }
        }
    }
}

final class TroveTests: XCTestCase {
    static var root: URL!
    static var engine: Engine!

    override class func setUp() {
        super.setUp()
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("trove-swift-\(UUID().uuidString)")
        let folder = root.appendingPathComponent("notes")
        try! FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (name, text) in notes {
            try! text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        engine = try! Engine.open(config: config(root.appendingPathComponent("store").path))
        _ = try! engine.indexPath(path: folder.path)
    }

    override class func tearDown() {
        engine = nil
        try? FileManager.default.removeItem(at: root)
        super.tearDown()
    }

    static func config(_ store: String, modelsDir: String = models, reembed: Bool = false) -> EngineConfig {
        EngineConfig(storeDir: store, modelsDir: modelsDir, threads: threads, reembed: reembed)
    }

    var engine: Engine { Self.engine }
    var notesDir: String { Self.root.appendingPathComponent("notes").path }

    func testIndexReportsProgressAndUnchangedFilesCostNothing() throws {
        let progress = Progress()
        let again = try engine.indexPath(path: notesDir, listener: progress)
        XCTAssertEqual(again.filesUnchanged, 3)
        XCTAssertEqual(again.chunksEmbedded, 0)
        XCTAssertEqual(progress.calls.last?.filesDone, 3)
    }

    func testStatsDescribeTheStoreAndTheLastRun() throws {
        // A store of its own: the shared one changes with the other tests.
        let store = Self.root.appendingPathComponent("store-stats").path
        let fresh = try Engine.open(config: Self.config(store))
        XCTAssertNil(try fresh.stats().lastIndexRun)
        let before = UInt64(Date().timeIntervalSince1970)
        let summary = try fresh.indexPath(path: notesDir)
        let after = UInt64(Date().timeIntervalSince1970)
        XCTAssertEqual(summary.filesIndexed, 3)
        XCTAssertEqual(summary.bytesIndexed, UInt64(notes.values.map { $0.utf8.count }.reduce(0, +)))
        XCTAssertGreaterThan(summary.stages.embedMs, 0)
        XCTAssertGreaterThan(summary.stages.writeMs, 0)
        let stats = try fresh.stats()
        XCTAssertEqual(stats.documents, 3)
        XCTAssertGreaterThanOrEqual(stats.chunks, 3)
        XCTAssertEqual(stats.vectors, stats.chunks)
        XCTAssertEqual(stats.storeDir, store)
        XCTAssertTrue(stats.llmPath.hasSuffix(".gguf"), stats.llmPath)
        XCTAssertEqual(stats.embeddingModel.name, "all-MiniLM-L6-v2-int8")
        XCTAssertEqual(stats.embeddingModel.dimensions, 384)
        XCTAssertEqual(stats.embeddingModel.sha256.count, 64)
        XCTAssertTrue(stats.embeddingModel.sha256.allSatisfy { $0.isHexDigit }, stats.embeddingModel.sha256)
        let run = try XCTUnwrap(stats.lastIndexRun)
        XCTAssertTrue((before...after).contains(run.finishedAtUnix), "\(run.finishedAtUnix)")
        XCTAssertEqual(run.summary.filesSeen, summary.filesSeen)
        XCTAssertEqual(run.summary.filesIndexed, 3)
        XCTAssertEqual(run.summary.chunksEmbedded, summary.chunksEmbedded)
        XCTAssertEqual(run.summary.bytesIndexed, summary.bytesIndexed)
    }

    func testSearchFindsTheRightNote() throws {
        let hits = try engine.search(query: "how hot should the water be for espresso?")
        XCTAssertTrue(hits[0].path!.hasSuffix("espresso.md"))
        XCTAssertGreaterThanOrEqual(hits[0].lines!.first, 1)
        XCTAssertGreaterThanOrEqual(hits[0].lines!.last, hits[0].lines!.first)
        XCTAssertTrue(hits.allSatisfy { $0.chunkId > 0 }, "\(hits)")
        XCTAssertEqual(Set(hits.map { $0.chunkId }).count, hits.count)
        let keyword = try engine.search(query: "chain", options: SearchOptions(k: 1, mode: .keyword))
        XCTAssertEqual(keyword.count, 1)
        XCTAssertTrue(keyword[0].path!.hasSuffix("bicycle.md"))
    }

    func testHostTextWithTagsThenRemoved() throws {
        _ = try engine.addText(id: "note-1", title: "Plant watering", text: "Water the fern every Tuesday.",
                               metadataJson: #"{"tags": ["garden"]}"#)
        let hits = try engine.search(query: "fern", options: SearchOptions(tags: ["garden"]))
        XCTAssertEqual(hits.map { $0.documentId }, ["note-1"])
        XCTAssertNil(hits[0].path)
        XCTAssertTrue(try engine.removeDocument(id: "note-1"))
        XCTAssertFalse(try engine.removeDocument(id: "note-1"))
    }

    func testDocumentStatusAndExplain() throws {
        let espresso = URL(fileURLWithPath: notesDir).appendingPathComponent("espresso.md")
            .resolvingSymlinksInPath().path
        let status = try engine.documentStatus(documentId: espresso)
        XCTAssertEqual(status.state, .indexed)
        XCTAssertGreaterThanOrEqual(status.chunks, 1)
        XCTAssertEqual(try engine.documentStatus(documentId: "/nowhere.md").state, .notIndexed)
        let why = try engine.explain(query: "espresso brew temperature", documentId: espresso)
        XCTAssertEqual(why.hybrid.rank, 1)
        XCTAssertEqual(why.bestPassage?.documentId, espresso)
        XCTAssertTrue(why.reasons[0].contains("ranks it first"), "\(why.reasons)")
    }

    func testLinksAndBacklinksResolveByTitle() throws {
        _ = try engine.addText(id: "links-a", title: "Alpha",
                               text: "Alpha links to [[Beta|the second note]] and [[Gamma]].", metadataJson: "{}")
        _ = try engine.addText(id: "links-b", title: "Beta", text: "Beta stands alone.", metadataJson: "{}")
        defer {
            _ = try? engine.removeDocument(id: "links-a")
            _ = try? engine.removeDocument(id: "links-b")
        }
        let out = try engine.outgoingLinks(documentId: "links-a")
        XCTAssertEqual(out.map { $0.target }, ["Beta", "Gamma"])
        XCTAssertEqual(out[0].alias, "the second note")
        XCTAssertEqual(out[0].resolved?.documentId, "links-b")
        XCTAssertNil(out[1].resolved)
        XCTAssertEqual(try engine.backlinks(documentId: "links-b").map { $0.source.title }, ["Alpha"])
        XCTAssertThrowsError(try engine.backlinks(documentId: "links-none")) { error in
            guard case TroveError.NotFound = error else { return XCTFail("\(error)") }
        }
    }

    func testModelsAreDescribedAndOptionsReachTheAnswerModel() throws {
        let listed = try engine.models(accept: false)
        XCTAssertEqual(listed.map(\.role), [.embedding, .answer])
        XCTAssertEqual(listed[1].quantization, "Q4_1")
        XCTAssertEqual(listed[1].chatTemplate, "chatml")
        XCTAssertFalse(listed[1].changed)
        var cfg = Self.config(Self.root.appendingPathComponent("store-kv").path)
        cfg.cacheTypeK = .q80
        cfg.cacheTypeV = .q80
        cfg.loraAdapters = [LoraAdapter(path: models + "/test-lora/zero.gguf", scale: 1)]
        let q8 = try Engine.open(config: cfg)
        _ = try q8.addText(id: "kettle", title: "Kettle", text: "Descale the kettle with citric acid monthly.",
                           metadataJson: "{}")
        let answer = try q8.ask(question: "How do I descale the kettle?",
                                options: AskOptions(maxTokens: 8, strategy: .generative, minGrounding: 0),
                                listener: nil, cancel: nil)
        XCTAssertFalse(answer.text.isEmpty)
        XCTAssertEqual(try q8.models(accept: false).last?.role, .loraAdapter)

        // This library has no GPU backend: gpuLayers reaches the engine,
        // which refuses it when the answer model loads, naming the fix.
        XCTAssertEqual(try gpuSupport(), GpuSupport(backends: [], devices: []))
        cfg.gpuLayers = 99
        let gpu = try Engine.open(config: cfg)
        XCTAssertThrowsError(
            try gpu.ask(question: "How do I descale the kettle?",
                        options: AskOptions(maxTokens: 8, strategy: .generative, minGrounding: 0),
                        listener: nil, cancel: nil)
        ) { error in
            guard case TroveError.InvalidInput(let message) = error, message.contains("gpu_layers is 99") else {
                return XCTFail("\(error)")
            }
        }
    }

    func testKeywordSearchableAtOnceAndEmbeddedInTheBackground() throws {
        var cfg = Self.config(Self.root.appendingPathComponent("store-background").path)
        cfg.embedInBackground = true
        let bg = try Engine.open(config: cfg)
        bg.pauseEmbedding()
        let added = try bg.addText(id: "kettle", title: "Kettle", text: "Descale the kettle with citric acid monthly.",
                                   metadataJson: "{}")
        XCTAssertEqual([added.chunksQueued, added.chunksPending], [1, 1])
        XCTAssertEqual(try bg.documentStatus(documentId: "kettle").state, .pendingEmbedding)
        let early = try bg.search(query: "kettle descale", options: nil)
        XCTAssertEqual(early.first?.documentId, "kettle")
        XCTAssertEqual(early.first?.embedded, false)
        XCTAssertEqual(try bg.embeddingStatus().pending, 1)
        bg.setEmbeddingThreads(threads: 1)
        let done = try bg.finishEmbedding(listener: nil, cancel: nil)
        XCTAssertEqual([done.chunksEmbedded, done.chunksPending], [1, 0])
        let vector = try bg.search(query: "kettle descale", options: SearchOptions(mode: .vector))
        XCTAssertEqual(vector.first?.embedded, true)
        bg.resumeEmbedding()
        XCTAssertFalse(try bg.embeddingStatus().paused)
    }

    func testMultilingualStoreFindsJapaneseFromEnglish() throws {
        var cfg = Self.config(Self.root.appendingPathComponent("store-e5").path)
        cfg.embeddingPath = "\(models)/multilingual-e5-small/multilingual-e5-small-q4_0.gguf"
        let e5 = try Engine.open(config: cfg)
        _ = try e5.addText(id: "ja", title: "フェリー", text: "フェリーは七時に港を出発します。", metadataJson: "{}")
        _ = try e5.addText(id: "de", title: "Kuchen", text: "Der Kuchen braucht 200 Gramm Zucker und drei Eier.",
                           metadataJson: "{}")
        let hits = try e5.search(query: "When does the ferry leave the harbour?",
                                 options: SearchOptions(k: 1, mode: .vector))
        XCTAssertEqual(hits.first?.documentId, "ja")
        let one = try e5.search(query: "港", options: SearchOptions(mode: .keyword))
        XCTAssertEqual(one.map { $0.documentId }, ["ja"])
        XCTAssertEqual(try e5.stats().embeddingModel.name, "multilingual-e5-small")
    }

    func testTheDefaultAnswerQuotesItsSourceAndOffTopicIsDeclined() throws {
        let answer = try engine.ask(question: "What brew temperature do I use for espresso?", options: AskOptions())
        XCTAssertFalse(answer.declined)
        XCTAssertEqual(answer.strategy, .extractive)
        XCTAssertTrue(answer.text.contains("93"), answer.text)
        XCTAssertTrue(answer.citations[0].hit.path!.hasSuffix("espresso.md"))
        let support = try XCTUnwrap(answer.sentences.first?.support)
        // Offsets count Unicode scalar values.
        let scalars = Array(answer.passages[Int(support.n) - 1].text.unicodeScalars)
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[Int(support.start)..<Int(support.end)])
        let quote = String(view)
        XCTAssertTrue(answer.text.contains(quote.split(whereSeparator: \.isWhitespace).joined(separator: " ")), quote)
        let off = try engine.ask(question: "Who won the football world cup in 2014?", options: AskOptions())
        XCTAssertTrue(off.declined)
        XCTAssertTrue(off.text.hasPrefix("Not in your documents"), off.text)
        XCTAssertEqual(off.citations, [])
        XCTAssertLessThan(off.grounding.score, off.grounding.threshold)
        let forced = try engine.ask(question: "Who won the football world cup in 2014?", options: AskOptions(minGrounding: 0))
        XCTAssertFalse(forced.declined)
    }

    func testAConversationFollowsUpAndRestores() throws {
        let chat = Conversation()
        _ = try engine.askIn(conversation: chat, question: "What brew temperature do I use for espresso?")
        let follow = try engine.askIn(conversation: chat, question: "And how long does it take?")
        XCTAssertEqual(follow.history?.query, "What brew temperature do I use for espresso? And how long does it take?")
        XCTAssertTrue(follow.passages[0].path!.hasSuffix("espresso.md"))
        let restored = Conversation.fromTurns(turns: chat.turns())
        let next = try engine.askIn(conversation: restored, question: "And the dose?")
        XCTAssertTrue(next.history!.query.hasPrefix("And how long does it take?"))
        XCTAssertEqual(restored.turns().count, 3)
        XCTAssertEqual(chat.turns().count, 2)
    }

    func testAskStreamsTheAnswerAndCitesTheNote() throws {
        let listener = Pieces()
        let answer = try engine.ask(question: "What brew temperature do I use for espresso?",
                                    options: AskOptions(maxTokens: 48, strategy: .generative), listener: listener)
        XCTAssertFalse(answer.text.isEmpty)
        XCTAssertEqual(listener.text, answer.draft ?? answer.text)
        XCTAssertTrue(answer.citations.contains { $0.hit.path!.hasSuffix("espresso.md") })
        XCTAssertTrue(answer.citations.allSatisfy { $0.hit == answer.passages[Int($0.n) - 1] })
        XCTAssertFalse(answer.passages.isEmpty)
        XCTAssertEqual(answer.dropped, [])
        XCTAssertGreaterThan(answer.timings.promptTokens, 10)
    }

    func testPassagesThatDoNotFitTheContextAreDropped() throws {
        // Leaves 150 prompt tokens: room for the question and one short
        // note, not for all three.
        let answer = try engine.ask(question: "What brew temperature do I use for espresso?",
                                    options: AskOptions(k: 3, maxTokens: defaultContext - 150, strategy: .generative),
                                    listener: Pieces(stopAfter: 4))
        XCTAssertFalse(answer.dropped.isEmpty, "\(answer.passages)")
        let given = answer.passages.map { $0.chunkId }
        let dropped = answer.dropped.map { $0.chunkId }
        XCTAssertEqual(given.count + dropped.count, 3)
        XCTAssertTrue(Set(given).isDisjoint(with: dropped))
        XCTAssertLessThanOrEqual(answer.timings.promptTokens, 150)
    }

    func testListenerReturningFalseStopsGeneration() throws {
        let listener = Pieces(stopAfter: 2)
        let answer = try engine.ask(question: "How often do I oil the chain?",
                                    options: AskOptions(maxTokens: 64, strategy: .generative), listener: listener)
        XCTAssertEqual(listener.pieces.count, 2)
        XCTAssertEqual(answer.stopReason, .callback)
    }

    func testCancelFromAnotherThread() throws {
        let token = CancelToken()
        let started = DispatchSemaphore(value: 0)
        let canceller = Thread {
            _ = started.wait(timeout: .now() + 60)
            token.cancel()
        }
        canceller.start()
        XCTAssertThrowsError(
            try engine.ask(question: "Describe every note in detail.", options: AskOptions(maxTokens: 200, strategy: .generative, minGrounding: 0),
                           listener: Pieces(onFirst: { started.signal() }), cancel: token)
        ) { error in
            guard case TroveError.Cancelled = error else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(token.isCancelled())
    }

    func testAsyncVariantsRunOffTheCallersThread() async throws {
        let more = Self.root.appendingPathComponent("more")
        try FileManager.default.createDirectory(at: more, withIntermediateDirectories: true)
        try "# Kettle\n\nDescale the kettle monthly with citric acid.\n"
            .write(to: more.appendingPathComponent("kettle.md"), atomically: true, encoding: .utf8)
        let summary = try await engine.indexPathAsync(path: more.path)
        XCTAssertEqual(summary.filesIndexed, 1)
        let listener = Pieces()
        let answer = try await engine.askAsync(question: "How do I descale the kettle?",
                                               options: AskOptions(maxTokens: 24, strategy: .generative), listener: listener)
        XCTAssertEqual(answer.draft ?? answer.text, listener.text)
        XCTAssertFalse(listener.onMainThread)
    }

    func testTypedErrors() throws {
        XCTAssertThrowsError(try engine.indexPath(path: Self.root.appendingPathComponent("none").path)) {
            guard case TroveError.NotFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try engine.search(query: "   ")) {
            guard case TroveError.InvalidInput = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try engine.indexPath(path: notesDir, listener: Progress(stop: true))) {
            guard case TroveError.Cancelled = $0 else { return XCTFail("\($0)") }
        }
    }

    func testWatchFollowsANewFileUntilStopped() throws {
        let folder = Self.root.appendingPathComponent("watched")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let events = Events()
        let watcher = try engine.watch(paths: [folder.path], listener: events, debounceMs: 100)
        defer { watcher.stop() }
        let ready = events.waitFor { event -> IndexSummary? in
            if case let .ready(summary) = event { return summary }
            return nil
        }
        XCTAssertNotNil(ready)
        try "# Greenhouse\n\nThe vents open at 26 degrees.\n"
            .write(to: folder.appendingPathComponent("vents.md"), atomically: true, encoding: .utf8)
        let indexed = events.waitFor { event -> (UInt64, TimeInterval)? in
            if case let .indexed(path, chunksEmbedded, _, latency) = event, path.hasSuffix("vents.md") {
                return (chunksEmbedded, latency)
            }
            return nil
        }
        let (chunks, latency) = try XCTUnwrap(indexed)
        XCTAssertEqual(chunks, 1)
        // Counted from the first file-system event, so the quiet wait is in it.
        XCTAssertGreaterThanOrEqual(latency, 0.1)
        let hits = try engine.search(query: "greenhouse vents", options: SearchOptions(k: 1, mode: .keyword))
        XCTAssertEqual(hits.count, 1)
        XCTAssertTrue(hits[0].path!.hasSuffix("vents.md"))
        watcher.stop()
        watcher.stop()  // a second stop does nothing
    }

    func testStoreOfAnotherEmbeddingModelIsRefusedThenReembedded() throws {
        let store = Self.root.appendingPathComponent("store-other").path
        do {
            let first = try Engine.open(config: Self.config(store))
            XCTAssertNil(try first.stats().lastIndexRun)
            _ = try first.addText(id: "a", title: "Sky", text: "The sky is blue.")
        }
        let other = try otherEmbeddingModel()
        XCTAssertThrowsError(try Engine.open(config: Self.config(store, modelsDir: other))) { error in
            guard case TroveError.IncompatibleStore(let message) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("reembed") || message.contains("re-embed"), message)
        }
        let converted = try Engine.open(config: Self.config(store, modelsDir: other, reembed: true))
        XCTAssertEqual(try converted.stats().documents, 1)
        XCTAssertEqual(try converted.search(query: "sky colour")[0].documentId, "a")
    }

    /// The same model files, but a tokenizer.json one byte longer: another fingerprint.
    func otherEmbeddingModel() throws -> String {
        let fm = FileManager.default
        let other = Self.root.appendingPathComponent("other-models")
        let emb = other.appendingPathComponent("all-MiniLM-L6-v2-int8")
        try fm.createDirectory(at: emb, withIntermediateDirectories: true)
        let real = URL(fileURLWithPath: models).appendingPathComponent("all-MiniLM-L6-v2-int8")
        // Links to files only: a link to a models folder would let a
        // recursive delete of the temporary tree reach the real models.
        let modelsURL = URL(fileURLWithPath: models)
        let ortDir = modelsURL.appendingPathComponent("onnxruntime")
        try fm.createDirectory(at: other.appendingPathComponent("onnxruntime"), withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: ortDir.path) {
            try fm.createSymbolicLink(at: other.appendingPathComponent("onnxruntime/\(name)"),
                                      withDestinationURL: ortDir.appendingPathComponent(name))
        }
        let llm = "SmolLM2-135M-Instruct.Q4_1.gguf"
        try fm.createSymbolicLink(at: other.appendingPathComponent(llm),
                                  withDestinationURL: modelsURL.appendingPathComponent(llm))
        for name in try fm.contentsOfDirectory(atPath: real.path) where name != "tokenizer.json" {
            try fm.createSymbolicLink(at: emb.appendingPathComponent(name),
                                      withDestinationURL: real.appendingPathComponent(name))
        }
        let tokenizer = try String(contentsOf: real.appendingPathComponent("tokenizer.json"), encoding: .utf8)
        try (tokenizer + "\n").write(to: emb.appendingPathComponent("tokenizer.json"), atomically: true, encoding: .utf8)
        return other.path
    }
}
