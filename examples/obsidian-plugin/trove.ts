/**
 * trove.ts: a typed wrapper of libtrove (include/trove.h) for Node and
 * Electron, through koffi. All FFI details live here; callers see plain
 * objects, Promises and exceptions.
 *
 * Version (trove.h "Versions"): `loadLibrary` reads trove_version_number()
 * before binding anything else and refuses a library whose MAJOR differs
 * from TROVE_VERSION (the header this file was written for) or, while
 * MAJOR is 0, whose MINOR differs.
 *
 * Text (trove.h "Strings"):
 * - Text a host holds (a query, a question, a note's fields, a document id)
 *   goes to trove as a pointer and a byte length, never NUL-terminated: a
 *   string is encoded to UTF-8 first (a lone surrogate is refused rather
 *   than silently replaced), a Uint8Array is passed as its bytes, so a NUL
 *   inside is text and invalid UTF-8 is trove's INVALID_ARGUMENT. During a
 *   synchronous call the bytes are read in place; an async call copies them
 *   first, because the JS thread runs on while the worker reads.
 * - Paths, path prefixes, tags and document-id filters are NUL-terminated in
 *   the C API: a string holding NUL is refused (koffi would cut it there).
 *
 * Ownership (trove.h "Ownership"):
 * - Handles (engine, results, answer, cancel token) are freed exactly once:
 *   results and answers inside the call that produced them (try/finally),
 *   the engine by `Trove.close()`, tokens by `CancelToken.free()`.
 * - Lent strings (`trove_results_json`, `trove_answer_json`,
 *   `trove_last_error`, callback arguments) are copied into JS strings by
 *   koffi at once and never freed here.
 * - Owned strings (the summaries of `trove_index_path` and `trove_add_text`,
 *   `trove_stats_json`) are declared as a koffi *disposable* type whose free
 *   function is `trove_string_free`: koffi copies the string, then frees the
 *   pointer.
 *
 * Threads:
 * - The synchronous methods run on the calling (JS) thread; callbacks run
 *   inline, on that thread.
 * - `askAsync` / `indexPathAsync` run the C call on a libuv worker thread
 *   (koffi's `fn.async`). trove then invokes the token / progress callback on
 *   that worker thread; koffi forwards each invocation to the JS main thread
 *   through its thread-safe function broker and blocks the worker until the
 *   JS callback has returned, so callbacks always run on the JS thread, in
 *   order, with their lent arguments still valid, and their "go on" / "stop"
 *   result reaches trove. The JS thread stays free meanwhile (timers, UI, a
 *   `CancelToken.cancel()` from a button).
 * - trove_last_error() is per thread: after a failed async call the message
 *   was left on the worker thread and cannot be read from JS. Async failures
 *   therefore carry the status name and a generic message (see TroveError).
 */

import koffi = require('koffi');
import * as fs from 'fs';

// ------------------------------------------------------------------ types --

/** The trove.h this wrapper was written for (TROVE_VERSION_MAJOR/_MINOR/_PATCH). */
export const TROVE_VERSION = { major: 0, minor: 2, patch: 0 } as const;

/** Names of `trove_status` values other than OK. */
export type TroveStatusName =
    | 'TROVE_STATUS_INVALID_ARGUMENT'
    | 'TROVE_STATUS_NOT_FOUND'
    | 'TROVE_STATUS_IO'
    | 'TROVE_STATUS_CORRUPT_STORE'
    | 'TROVE_STATUS_INCOMPATIBLE_STORE'
    | 'TROVE_STATUS_MODEL'
    | 'TROVE_STATUS_CANCELLED'
    | 'TROVE_STATUS_BUSY'
    | 'TROVE_STATUS_INTERNAL';

/** Retrievers (`trove_search_mode`). */
export type SearchMode = 'hybrid' | 'vector' | 'keyword';

const SEARCH_MODES: Record<SearchMode, number> = { hybrid: 0, vector: 1, keyword: 2 };

/** How an answer is written: `extractive` quotes the best sentences of the
 * sources (no model, the default); `generative` lets the model write and
 * checks its citations; `quote` lets the model pick a sentence to quote. */
export type AnswerStrategy = 'extractive' | 'generative' | 'quote';
const STRATEGIES: Record<AnswerStrategy, number> = { extractive: 0, generative: 1, quote: 2 };

/** Text handed to trove: a string (sent as UTF-8) or UTF-8 bytes as they are. */
export type Text = string | Uint8Array;

/** A failed trove call: `status` is the C status name, `message` trove's. */
export class TroveError extends Error {
    /** e.g. "TROVE_STATUS_NOT_FOUND"; "TROVE_WRAPPER" for misuse of this wrapper. */
    readonly status: TroveStatusName | 'TROVE_WRAPPER';
    /** The numeric `trove_status` (0 for wrapper errors). */
    readonly code: number;
    constructor(status: TroveStatusName | 'TROVE_WRAPPER', code: number, message: string) {
        super(message);
        this.name = 'TroveError';
        this.status = status;
        this.code = code;
    }
}

export interface OpenOptions {
    /** Absolute path of libtrove.so (loaded once per path). */
    library: string;
    /** Store directory (created when missing). */
    storeDir: string;
    /** Models directory laid out by `make setup`. */
    modelsDir: string;
    /** Threads for embedding and generation; 0 / unset: all cores. */
    threads?: number;
    /** Context window of the answer model; unset: 2048. */
    contextSize?: number;
    /** Re-embed a store built with another embedding model. */
    reembed?: boolean;
    /** A GGUF answer model instead of the default one. */
    llmPath?: string;
    /**
     * The store's embedding model: an ONNX model directory or a `.gguf`
     * file, e.g. `<modelsDir>/multilingual-e5-small/multilingual-e5-small-q4_0.gguf`
     * for notes in any language; unset: the English MiniLM.
     */
    embeddingPath?: string;
    /**
     * Index calls return once their documents are committed and
     * keyword-searchable (at parse speed); the engine's background thread
     * embeds them (`embeddingStatus`, `finishEmbeddingAsync`). Unset:
     * they return once embedded.
     */
    embedInBackground?: boolean;
    /** Threads for embedding passages; 0 / unset: `threads`. */
    embeddingThreads?: number;
    /**
     * How the answer model's KV cache stores keys and values; unset: f16.
     * `q8_0` / `q4_0` fit a long context in about a half / a quarter of it.
     */
    cacheTypeK?: CacheType;
    cacheTypeV?: CacheType;
    /** LoRA adapters (GGUF) on the answer model, at most one for now. */
    loraAdapters?: LoraAdapter[];
    /**
     * Layers of the answer model offloaded to a GPU; 0 / unset: none (the
     * CPU), 999: all. Needs a libtrove built with a GPU backend and a device
     * it finds (`Trove.gpuSupport`).
     */
    gpuLayers?: number;
}

/** KV cache precision (`trove_cache_type`). */
export type CacheType = 'f16' | 'q8_0' | 'q4_0';

/** A GGUF LoRA adapter and its strength (1: as trained; unset: 1). */
export interface LoraAdapter {
    path: string;
    scale?: number;
}

/** A model file (the `model_info` JSON shape, camelCase). */
export interface ModelInfo {
    role: 'embedding' | 'answer' | 'lora_adapter' | 'found';
    path: string;
    /** `gguf` or `onnx`. */
    format: string;
    name: string | null;
    architecture: string | null;
    sizeBytes: number;
    /** `Q4_1`, `Q4_K_M` …, `int8` or `f32`. */
    quantization: string | null;
    contextLength: number | null;
    /** The chat format of its template (`chatml`, `gemma` …), or null. */
    chatTemplate: string | null;
    sha256: string;
    /** The sha256 recorded for it and by whom (`setup`, `store`), or null. */
    recordedSha256: string | null;
    recordedBy: string | null;
    /** Not the recorded file: an answer model is refused until accepted. */
    changed: boolean;
}

/** What GPU offload libtrove was built with and finds (the `gpu_support` JSON shape). */
export interface GpuSupport {
    /** GPU backends built in (`Vulkan`, `Metal`, `CUDA`); empty: CPU only. */
    backends: string[];
    devices: GpuDevice[];
}

/** A GPU the answer model can be offloaded to (the `gpu_device` JSON shape, camelCase). */
export interface GpuDevice {
    /** llama.cpp's name for it, e.g. `Vulkan0`. */
    name: string;
    /** The driver's name for it. */
    description: string;
    backend: string;
    memoryTotalBytes: number;
    memoryFreeBytes: number;
}

/** A note handed over by the host app (`trove_note`). */
export interface Note {
    /** The host's id (not empty): adding the same id again replaces the note. */
    id: Text;
    /** Its title; unset or empty: the note's own first heading. */
    title?: Text;
    /** Its text, read as Markdown. */
    text: Text;
    /** Laid over the note's front matter; its `tags` become search filters. */
    metadata?: Record<string, unknown>;
}

/** Filters shared by search and ask; all that are set must hold. */
export interface Filters {
    /** Only documents whose path starts with this. */
    pathPrefix?: string;
    /** Only documents with at least one of these tags (ignoring case; `garden` matches `garden/vegetables`). */
    tags?: string[];
    /** Only these documents (paths or host ids). */
    documentIds?: string[];
}

export interface SearchOptions extends Filters {
    /** Hits wanted; default 8. */
    k?: number;
    /** Retriever; default hybrid. */
    mode?: SearchMode;
    /** At most one hit per document. */
    onePerDocument?: boolean;
}

export interface AskOptions extends Filters {
    /** Passages given to the model; default 3. */
    k?: number;
    /** Retriever; default hybrid. */
    mode?: SearchMode;
    /** Most tokens generated; default 256. */
    maxTokens?: number;
    /** Sampling temperature; 0 / unset: greedy. */
    temperature?: number;
    /** Sampling seed; unset: 42. */
    seed?: number;
    /** How the answer is written; default extractive. */
    strategy?: AnswerStrategy;
    /** Grounding score (0..1) below which the question is declined with the
     * fixed "not in your documents" answer; unset: the calibrated default;
     * 0: never decline. */
    minGrounding?: number;
    /** Share of a generated draft the sources must support, else quotes
     * replace it; unset: the default. */
    minDraftSupport?: number;
    /** Receives each piece of the answer; return false to stop (the call
     * then succeeds with stopReason "callback"). */
    onToken?: (piece: string) => boolean | void;
    /** Raise it (from anywhere on the JS thread) to cancel: TROVE_STATUS_CANCELLED. */
    cancel?: CancelToken;
    /** Ask as the next turn of this conversation (`trove_ask_in`): a
     * follow-up is searched with the question before it, and the turn is
     * added to it. */
    conversation?: Conversation;
}

/** One exchange of a conversation (the `turn` JSON shape, camelCase). */
export interface Turn {
    question: string;
    /** What retrieval searched for. */
    query: string;
    answer: string;
    declined: boolean;
    passages: Hit[];
}

export interface Progress {
    filesDone: number;
    filesTotal: number;
    /** Chunks of new text committed so far (keyword-searchable, queued for embedding). */
    chunksQueued: number;
    /** Chunks given their vector so far. */
    chunksEmbedded: number;
    chunksReused: number;
    bytesDone: number;
    bytesTotal: number;
}

export interface IndexOptions {
    /** After each file and embedding batch; return false to stop (CANCELLED). */
    onProgress?: (progress: Progress) => boolean | void;
    cancel?: CancelToken;
}

/** Milliseconds spent in each indexing stage. */
export interface StageTimings {
    readParseMs: number;
    chunkMs: number;
    embedMs: number;
    writeMs: number;
}

/** What an indexing call did (the `index_summary` JSON shape, camelCase). */
export interface IndexSummary {
    filesSeen: number;
    filesIndexed: number;
    filesUnchanged: number;
    filesRemoved: number;
    filesFailed: number;
    failures: { path: string; code: string; reason: string }[];
    /** Chunks of new text the call committed and queued for embedding. */
    chunksQueued: number;
    /** Chunks the call gave their vector. */
    chunksEmbedded: number;
    /** Chunks still waiting for their vector when the call returned. */
    chunksPending: number;
    chunksReused: number;
    bytesIndexed: number;
    seconds: number;
    stages: StageTimings;
}

/** The last indexing run the store remembers: a summary and when it ended. */
export interface IndexRun extends IndexSummary {
    finishedAtUnix: number;
}

/** `trove_stats_json` (the `stats` JSON shape, camelCase). */
export interface Stats {
    documents: number;
    chunks: number;
    /** Chunks waiting for their vector (keyword-searchable meanwhile). */
    chunksPending: number;
    embeddings: number;
    vectors: number;
    failures: number;
    storeBytes: number;
    storeDir: string;
    embeddingModel: { name: string; dimensions: number; sha256: string };
    llmPath: string;
    lastIndexRun: IndexRun | null;
}

/** One retrieved passage (the `hit` JSON shape, camelCase). */
export interface Hit {
    /** The chunk's id in this store (stable until its document changes). */
    chunkId: number;
    /** Host id or the file's absolute path. */
    documentId: string;
    /** Absolute file path; null for host text. */
    path: string | null;
    title: string;
    text: string;
    /** Higher is better; comparable within one list only. */
    score: number;
    /** 1-based PDF page, or null. */
    page: number | null;
    /** 1-based inclusive line range, or null. */
    lines: [number, number] | null;
    /** Chapter and paragraphs (HTML, DOCX, ODT, EPUB, canvas), or null. */
    locator: Locator | null;
    headingPath: string[];
    tags: string[];
    /** False while it waits for background embedding (found by its keywords only). */
    embedded: boolean;
}

/** Where a passage is in a document without lines or pages (the `locator` JSON shape, camelCase). */
export interface Locator {
    /** 1-based chapter (EPUB), or null. */
    chapter: number | null;
    /** The EPUB chapter file or canvas card id, or null. */
    part: string | null;
    firstParagraph: number;
    lastParagraph: number;
}

/** Where a document stands in the store (the `document_status` JSON shape, camelCase). */
export interface DocumentStatus {
    documentId: string;
    state: 'indexed' | 'pending_embedding' | 'changed' | 'missing' | 'failed' | 'not_indexed';
    title: string | null;
    /** Its chunks (passages) in the store. */
    chunks: number;
    /** Of those, chunks waiting for their vector. */
    chunksPending: number;
    /** The skip reason's code, when it failed. */
    failureCode: string | null;
    /** Why it failed, with the fix. */
    failureReason: string | null;
}

/** Where embedding stands (the `embedding_status` JSON shape, camelCase): "embedded n of m". */
export interface EmbeddingStatus {
    chunks: number;
    embedded: number;
    pending: number;
    /** Background embedding paused by `pauseEmbedding`. */
    paused: boolean;
    /** A batch is being embedded in this process now. */
    running: boolean;
    /** Threads the model uses for passages. */
    threads: number;
    /** Why the last background batch failed (its chunks are retried), or null. */
    lastError: string | null;
}

/** Where a document ranks in one retriever's list of documents. */
export interface RankEvidence {
    /** 1-based rank, or null when not among the first `depth`. */
    rank: number | null;
    /** Its best passage's score here, or null when nothing matches. */
    score: number | null;
    topScore: number | null;
    depth: number;
}

/** Why a document ranks where it does for a query (the `explanation` JSON shape, camelCase). */
export interface Explanation {
    query: string;
    status: DocumentStatus;
    bestPassage: Hit | null;
    hybrid: RankEvidence;
    keyword: RankEvidence;
    vector: RankEvidence;
    /** The document ranked first, when another one. */
    first: Hit | null;
    /** The evidence in sentences. */
    reasons: string[];
}

/** A document at one end of a link. */
export interface LinkedDocument {
    documentId: string;
    path: string | null;
    title: string;
}

/** A link written in a note (the `document_link` JSON shape, camelCase). */
export interface DocumentLink {
    source: LinkedDocument;
    /** The note or file as written, without `.md`. */
    target: string;
    heading: string | null;
    /** The block id linked to, without `^`. */
    block: string | null;
    /** The text shown for the link (`[[Note|shown]]`). */
    alias: string | null;
    /** `![[…]]`: shown in place. */
    embed: boolean;
    /** 1-based line of the link in the source. */
    line: number | null;
    /** The stored document the target names now, or null. */
    resolved: LinkedDocument | null;
    /** A linked block's lines in the resolved document. */
    blockLines: [number, number] | null;
}

/** A source the answer cites: the passage, with its mark. */
export interface Citation extends Hit {
    /** The `[n]` mark in the answer (passage n - 1). */
    n: number;
    /** true: the sentence had no supported `[n]`; trove found this source supports it. */
    inferred: boolean;
}

/** The span of a passage that supports a sentence of the answer. */
export interface Support {
    /** The passage: `passages[n - 1]`. */
    n: number;
    /** Char range in the passage text. */
    start: number;
    end: number;
    lines: [number, number] | null;
    page: number | null;
    /** Share of the sentence's terms the span holds; 1 for a quote. */
    score: number;
}

/** One sentence of the answer: its char range, checked citations and support. */
export interface AnswerSentence {
    start: number;
    end: number;
    /** `[n]` marks the passages support (kept in the text). */
    citations: number[];
    /** `[n]` marks the passages do not support (removed from the text). */
    dropped: number[];
    /** null: no passage supports the sentence (show it as unsupported). */
    support: Support | null;
}

/** Whether the passages bear on the question, and the measurements why. */
export interface Grounding {
    score: number;
    threshold: number;
    signals: { passageSimilarity: number; sentenceSimilarity: number; coverage: number; unknown: number };
}

export type StopReason = 'end_of_text' | 'max_tokens' | 'stop_string' | 'callback';

export interface Answer {
    /** The answer with checked `[n]` marks. */
    text: string;
    citations: Citation[];
    /** The passages the answer was written from (declined: the closest). */
    passages: Hit[];
    /** Passages retrieved but left out: they did not fit the context window. */
    dropped: Hit[];
    stopReason: StopReason;
    timings: {
        retrievalMs: number;
        promptTokens: number;
        /** Prompt tokens a conversation's previous turn had evaluated, reused. */
        cachedTokens: number;
        prefillMs: number;
        ttftMs: number;
        decodeTokens: number;
        decodeTokS: number;
        totalMs: number;
    };
    /** The documents do not answer this: `text` is the fixed "not in your
     * documents" answer naming the closest documents; nothing is cited. */
    declined: boolean;
    strategy: AnswerStrategy;
    /** The generated draft was unsupported; quotes replaced it. */
    fallback: boolean;
    /** What the model generated (and streamed) when `text` differs from it. */
    draft: string | null;
    grounding: Grounding;
    sentences: AnswerSentence[];
    /** In a conversation: the query searched and the earlier turns used. */
    history: { query: string; turns: number; condensed: number; dropped: number } | null;
}

/** Which JSON text trove handed out (names of tests/json/shapes.json;
 * "hits" is an array of "hit"). */
export type JsonKind =
    | 'hits'
    | 'answer'
    | 'index_summary'
    | 'stats'
    | 'embedding_status'
    | 'models'
    | 'turns'
    | 'links'
    | 'document_status'
    | 'explanation'
    | 'gpu_support';

let jsonObserver: ((kind: JsonKind, json: string) => void) | null = null;

/** Sees every JSON text read from trove, before it is decoded (for tests
 * that check the library's JSON shapes, and for diagnostics); null: none. */
export function observeJson(observer: ((kind: JsonKind, json: string) => void) | null): void {
    jsonObserver = observer;
}

function parseJson(kind: JsonKind, json: string): unknown {
    jsonObserver?.(kind, json);
    return JSON.parse(json);
}

/** Counters of handles and owned strings this module created and freed
 * (for tests: every "created" must meet its "freed"). */
export interface FfiCounters {
    engines: { opened: number; closed: number };
    results: { created: number; freed: number };
    answers: { created: number; freed: number };
    tokens: { created: number; freed: number };
    ownedStrings: { freed: number };
    registeredCallbacks: { registered: number; unregistered: number };
}

const counters: FfiCounters = {
    engines: { opened: 0, closed: 0 },
    results: { created: 0, freed: 0 },
    answers: { created: 0, freed: 0 },
    tokens: { created: 0, freed: 0 },
    ownedStrings: { freed: 0 },
    registeredCallbacks: { registered: 0, unregistered: 0 },
};

/** A snapshot of the FFI counters. */
export function ffiCounters(): FfiCounters {
    return JSON.parse(JSON.stringify(counters)) as FfiCounters;
}

// ------------------------------------------------------------- C binding --

/** A pointer as koffi 3 hands it out: a BigInt address, null for NULL. */
type Ptr = bigint | null;
/** Koffi's out-parameter convention: a one-element array it writes to. */
type Out<T> = [T];

/* koffi types are registered by name process-wide: declare them once. */
let ctypes: ReturnType<typeof declareTypes> | null = null;

function declareTypes() {
    const engine = koffi.opaque('trove_engine');
    const results = koffi.opaque('trove_results');
    const answer = koffi.opaque('trove_answer');
    const cancel = koffi.opaque('trove_cancel_token');
    koffi.opaque('trove_conversation');
    const engineOptions = koffi.struct('trove_engine_options', {
        struct_size: 'uint32_t',
        threads: 'uint32_t',
        context_size: 'uint32_t',
        reembed: 'uint8_t',
        llm_path: 'const char *',
        embedding_path: 'const char *',
        embed_in_background: 'uint8_t',
        embedding_threads: 'uint32_t',
        cache_type_k: 'uint32_t',
        cache_type_v: 'uint32_t',
        lora_paths: 'const char **',
        lora_scales: 'const float *',
        lora_count: 'size_t',
        gpu_layers: 'uint32_t',
    });
    // Text fields are given Buffers: koffi passes their address as it is.
    const note = koffi.struct('trove_note', {
        struct_size: 'uint32_t',
        id: 'const char *',
        id_len: 'size_t',
        title: 'const char *',
        title_len: 'size_t',
        text: 'const char *',
        text_len: 'size_t',
        metadata_json: 'const char *',
        metadata_json_len: 'size_t',
    });
    const progress = koffi.struct('trove_progress', {
        files_done: 'uint64_t',
        files_total: 'uint64_t',
        chunks_embedded: 'uint64_t',
        chunks_reused: 'uint64_t',
        bytes_done: 'uint64_t',
        bytes_total: 'uint64_t',
        chunks_queued: 'uint64_t',
    });
    const searchOptions = koffi.struct('trove_search_options', {
        struct_size: 'uint32_t',
        k: 'uint32_t',
        mode: 'uint32_t',
        one_per_document: 'uint8_t',
        path_prefix: 'const char *',
        tags: 'const char **',
        tag_count: 'size_t',
        document_ids: 'const char **',
        document_id_count: 'size_t',
    });
    const askOptions = koffi.struct('trove_ask_options', {
        struct_size: 'uint32_t',
        k: 'uint32_t',
        mode: 'uint32_t',
        max_tokens: 'uint32_t',
        temperature: 'float',
        seed: 'uint32_t',
        path_prefix: 'const char *',
        tags: 'const char **',
        tag_count: 'size_t',
        document_ids: 'const char **',
        document_id_count: 'size_t',
        cancel: 'trove_cancel_token *',
        strategy: 'uint32_t',
        min_grounding: 'float',
        never_decline: 'uint8_t',
        min_draft_support: 'float',
    });
    const progressFn = koffi.proto('int32_t trove_progress_fn(const trove_progress *progress, void *user_data)');
    // The piece is decoded up to its NUL: trove hands pieces out
    // NUL-terminated with no NUL inside, so piece_len adds nothing here.
    const tokenFn = koffi.proto('int32_t trove_token_fn(const char *piece, size_t piece_len, void *user_data)');
    return {
        engine,
        results,
        answer,
        cancel,
        engineOptions,
        note,
        progress,
        searchOptions,
        askOptions,
        progressFn,
        tokenFn,
    };
}

/** The functions of one loaded libtrove. Text parameters take a Buffer and
 * its length; `*_json` accessors get NULL for len_out (JSON never holds a
 * raw NUL, so reading up to the NUL is exact). */
interface TroveLib {
    path: string;
    version: string;
    versionNumber: number;
    last_error(): string;
    status_name(status: number): string;
    engine_open(store: string, models: string, options: object, out: Out<Ptr>): number;
    engine_close(engine: Ptr): void;
    add_text(engine: Ptr, note: object, summary: Out<string | null>): number;
    index_path: AsyncCapable<
        (engine: Ptr, path: string, cancel: Ptr, cb: unknown, ud: null, summary: Out<string | null>) => number
    >;
    remove_document(engine: Ptr, id: Buffer, idLen: number, removed: Out<boolean>): number;
    remove_path(engine: Ptr, path: string, count: Out<number | bigint>): number;
    stats_json(engine: Ptr, out: Out<string | null>): number;
    models_json(engine: Ptr, accept: number, out: Out<string | null>): number;
    gpu_json(out: Out<string | null>): number;
    embedding_status_json(engine: Ptr, out: Out<string | null>): number;
    embedding_finish: AsyncCapable<
        (engine: Ptr, cancel: Ptr, cb: unknown, ud: null, summary: Out<string | null>) => number
    >;
    embedding_pause(engine: Ptr): number;
    embedding_resume(engine: Ptr): number;
    embedding_set_threads(engine: Ptr, threads: number): number;
    outgoing_links_json(engine: Ptr, id: Buffer, idLen: number, out: Out<string | null>): number;
    backlinks_json(engine: Ptr, id: Buffer, idLen: number, out: Out<string | null>): number;
    document_status_json(engine: Ptr, id: Buffer, idLen: number, out: Out<string | null>): number;
    explain_json(engine: Ptr, query: Buffer, queryLen: number, id: Buffer, idLen: number, out: Out<string | null>): number;
    cancel_token_new(): Ptr;
    cancel_token_cancel(token: Ptr): void;
    cancel_token_reset(token: Ptr): void;
    cancel_token_free(token: Ptr): void;
    search(engine: Ptr, query: Buffer, queryLen: number, options: object, out: Out<Ptr>): number;
    results_json(results: Ptr, lenOut: null): string | null;
    results_free(results: Ptr): void;
    ask: AsyncCapable<
        (
            engine: Ptr,
            question: Buffer,
            questionLen: number,
            options: object,
            cb: unknown,
            ud: null,
            out: Out<Ptr>,
        ) => number
    >;
    ask_in: AsyncCapable<
        (
            engine: Ptr,
            conversation: Ptr,
            question: Buffer,
            questionLen: number,
            options: object,
            cb: unknown,
            ud: null,
            out: Out<Ptr>,
        ) => number
    >;
    answer_json(answer: Ptr, lenOut: null): string | null;
    answer_free(answer: Ptr): void;
    conversation_new(): Ptr;
    conversation_from_json(json: string, len: number, out: Out<Ptr>): number;
    conversation_json(conversation: Ptr, out: Out<string | null>): number;
    conversation_free(conversation: Ptr): void;
}

type AsyncCapable<F extends (...args: never[]) => unknown> = F & {
    async(...args: [...Parameters<F>, (err: unknown, result: ReturnType<F>) => void]): void;
};

const libraries = new Map<string, TroveLib>();

function versionText(number: number): string {
    return `${Math.floor(number / 1_000_000)}.${Math.floor(number / 1_000) % 1_000}.${number % 1_000}`;
}

/**
 * Refuses a library this wrapper was not written for (trove.h "Versions"):
 * the same MAJOR, and while MAJOR is 0 the same MINOR; with MAJOR 1 or more
 * an older MINOR lacks functions this wrapper binds, a newer one only adds.
 */
function checkVersion(path: string, lib: ReturnType<typeof koffi.load>): number {
    const wanted = `${TROVE_VERSION.major}.${TROVE_VERSION.minor}.${TROVE_VERSION.patch}`;
    let number: number;
    try {
        number = lib.func('uint32_t trove_version_number(void)')() as number;
    } catch {
        let text = 'unknown';
        try {
            text = lib.func('const char *trove_version(void)')() as string;
        } catch {
            // not libtrove at all
        }
        throw new TroveError(
            'TROVE_WRAPPER',
            0,
            `libtrove at ${path} (version ${text}) has no trove_version_number(): ` +
                `it is older than this wrapper, written for trove.h ${wanted}`,
        );
    }
    const major = Math.floor(number / 1_000_000);
    const minor = Math.floor(number / 1_000) % 1_000;
    const fits =
        major === TROVE_VERSION.major &&
        (major === 0 ? minor === TROVE_VERSION.minor : minor >= TROVE_VERSION.minor);
    if (!fits) {
        throw new TroveError(
            'TROVE_WRAPPER',
            0,
            `libtrove at ${path} is version ${versionText(number)}, but this wrapper was written for ` +
                `trove.h ${wanted}: use a library with the same MAJOR${TROVE_VERSION.major === 0 ? '.MINOR' : ''} ` +
                'or the trove.ts of that library',
        );
    }
    return number;
}

/** Loads libtrove from an explicit path (once per path), checks its version and binds it. */
export function loadLibrary(path: string): TroveLib {
    const known = libraries.get(path);
    if (known) return known;
    if (!fs.existsSync(path)) {
        throw new TroveError('TROVE_WRAPPER', 0, `libtrove not found at ${path}`);
    }
    const lib = koffi.load(path);
    const versionNumber = checkVersion(path, lib);
    ctypes ??= declareTypes();
    const f = (decl: string) => lib.func(decl);
    const string_free = f('void trove_string_free(void *s)');
    // An owned string: koffi decodes it, then calls trove_string_free on the
    // original pointer (NULL included, which trove ignores).
    const ownedString = koffi.disposable(`trove_owned_string_${libraries.size}`, 'char *', (p: unknown) => {
        if (p !== null) counters.ownedStrings.freed++;
        string_free(p);
    });
    const own = ownedString.name;
    const bound: TroveLib = {
        path,
        version: f('const char *trove_version(void)')() as string,
        versionNumber,
        last_error: f('const char *trove_last_error(void)'),
        status_name: f('const char *trove_status_name(int32_t status)'),
        engine_open: f(
            'int trove_engine_open(const char *store_dir, const char *models_dir, const trove_engine_options *options, _Out_ trove_engine **engine_out)',
        ),
        engine_close: f('void trove_engine_close(trove_engine *engine)'),
        add_text: f(
            `int trove_add_text(const trove_engine *engine, const trove_note *note, _Out_ ${own} *summary_json_out)`,
        ),
        index_path: f(
            `int trove_index_path(const trove_engine *engine, const char *path, const trove_cancel_token *cancel, trove_progress_fn *on_progress, void *user_data, _Out_ ${own} *summary_json_out)`,
        ),
        remove_document: f(
            'int trove_remove_document(const trove_engine *engine, const char *id, size_t id_len, _Out_ bool *removed_out)',
        ),
        remove_path: f('int trove_remove_path(const trove_engine *engine, const char *path, _Out_ uint64_t *count_out)'),
        stats_json: f(`int trove_stats_json(const trove_engine *engine, _Out_ ${own} *json_out)`),
        models_json: f(`int trove_models_json(const trove_engine *engine, uint8_t accept, _Out_ ${own} *json_out)`),
        gpu_json: f(`int trove_gpu_json(_Out_ ${own} *json_out)`),
        embedding_status_json: f(`int trove_embedding_status_json(const trove_engine *engine, _Out_ ${own} *json_out)`),
        embedding_finish: f(
            `int trove_embedding_finish(const trove_engine *engine, const trove_cancel_token *cancel, trove_progress_fn *on_progress, void *user_data, _Out_ ${own} *summary_json_out)`,
        ),
        embedding_pause: f('int trove_embedding_pause(const trove_engine *engine)'),
        embedding_resume: f('int trove_embedding_resume(const trove_engine *engine)'),
        embedding_set_threads: f('int trove_embedding_set_threads(const trove_engine *engine, uint32_t threads)'),
        outgoing_links_json: f(
            `int trove_outgoing_links_json(const trove_engine *engine, const char *id, size_t id_len, _Out_ ${own} *json_out)`,
        ),
        backlinks_json: f(
            `int trove_backlinks_json(const trove_engine *engine, const char *id, size_t id_len, _Out_ ${own} *json_out)`,
        ),
        document_status_json: f(
            `int trove_document_status_json(const trove_engine *engine, const char *id, size_t id_len, _Out_ ${own} *json_out)`,
        ),
        explain_json: f(
            `int trove_explain_json(const trove_engine *engine, const char *query, size_t query_len, const char *id, size_t id_len, _Out_ ${own} *json_out)`,
        ),
        cancel_token_new: f('trove_cancel_token *trove_cancel_token_new(void)'),
        cancel_token_cancel: f('void trove_cancel_token_cancel(const trove_cancel_token *token)'),
        cancel_token_reset: f('void trove_cancel_token_reset(const trove_cancel_token *token)'),
        cancel_token_free: f('void trove_cancel_token_free(trove_cancel_token *token)'),
        search: f(
            'int trove_search(const trove_engine *engine, const char *query, size_t query_len, const trove_search_options *options, _Out_ trove_results **results_out)',
        ),
        results_json: f('const char *trove_results_json(const trove_results *results, size_t *len_out)'),
        results_free: f('void trove_results_free(trove_results *results)'),
        ask: f(
            'int trove_ask(const trove_engine *engine, const char *question, size_t question_len, const trove_ask_options *options, trove_token_fn *on_token, void *user_data, _Out_ trove_answer **answer_out)',
        ),
        ask_in: f(
            'int trove_ask_in(const trove_engine *engine, trove_conversation *conversation, const char *question, size_t question_len, const trove_ask_options *options, trove_token_fn *on_token, void *user_data, _Out_ trove_answer **answer_out)',
        ),
        conversation_new: f('trove_conversation *trove_conversation_new(void)'),
        conversation_from_json: f(
            'int trove_conversation_from_json(const char *json, size_t json_len, _Out_ trove_conversation **conversation_out)',
        ),
        conversation_json: f(
            `int trove_conversation_json(const trove_conversation *conversation, _Out_ ${own} *json_out)`,
        ),
        conversation_free: f('void trove_conversation_free(trove_conversation *conversation)'),
        answer_json: f('const char *trove_answer_json(const trove_answer *answer, size_t *len_out)'),
        answer_free: f('void trove_answer_free(trove_answer *answer)'),
    } as unknown as TroveLib;
    libraries.set(path, bound);
    return bound;
}

/** Throws the TroveError of a failed synchronous call (message of this thread). */
function check(lib: TroveLib, status: number, what: string): void {
    if (status === 0) return;
    const message = lib.last_error(); // copy it before any other trove call
    const name = lib.status_name(status) as TroveStatusName;
    throw new TroveError(name, status, `${what}: ${message}`);
}

/** The TroveError of a failed async call: trove_last_error() is per thread
 * and the message stayed on the koffi worker thread, so only the status is
 * known. */
function asyncFailure(lib: TroveLib, status: number, what: string): TroveError {
    const name = lib.status_name(status) as TroveStatusName;
    const why =
        status === 7
            ? 'cancelled'
            : `${name} (trove_last_error() is per thread and this call ran on a worker thread; ` +
              'repeat the call synchronously for the message)';
    return new TroveError(name, status, `${what}: ${why}`);
}

function invalid(message: string): TroveError {
    return new TroveError('TROVE_STATUS_INVALID_ARGUMENT', 1, message);
}

function u32(value: number | undefined, what: string): number {
    if (value === undefined) return 0;
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
        throw invalid(`${what} must be an integer in 0..2^32-1, got ${value}`);
    }
    return value;
}

/** A lone surrogate: a string that has no UTF-8 form (Buffer.from and koffi
 * would replace it with U+FFFD without a word). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** A non-empty buffer to point at for empty text: koffi passes an empty
 * Buffer as NULL, which trove reads as "no value". */
const EMPTY = Buffer.alloc(1);

/**
 * The bytes of a text argument, for a (pointer, length) parameter: a string
 * as UTF-8, a Uint8Array as it is (in place, or copied when `copy`: async
 * calls, whose worker reads while the JS thread runs on).
 */
function bytesOf(value: Text, what: string, copy: boolean): { bytes: Buffer; len: number } {
    let bytes: Buffer;
    if (typeof value === 'string') {
        if (LONE_SURROGATE.test(value)) throw invalid(`${what} holds a lone surrogate: it has no UTF-8 form`);
        bytes = Buffer.from(value, 'utf8');
    } else if (value instanceof Uint8Array) {
        bytes = copy ? Buffer.from(value) : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    } else {
        throw invalid(`${what} must be a string or a Uint8Array, got ${typeof value}`);
    }
    return bytes.length === 0 ? { bytes: EMPTY, len: 0 } : { bytes, len: bytes.length };
}

/** A NUL-terminated string argument (paths, prefixes, tags, id filters). */
function cString(value: string, what: string): string {
    if (typeof value !== 'string') throw invalid(`${what} must be a string, got ${typeof value}`);
    if (value.includes('\0')) throw invalid(`${what} holds a NUL character (it is passed NUL-terminated)`);
    if (LONE_SURROGATE.test(value)) throw invalid(`${what} holds a lone surrogate: it has no UTF-8 form`);
    return value;
}

function optionalCString(value: string | undefined, what: string): string | null {
    return value === undefined ? null : cString(value, what);
}

function cStrings(values: string[] | undefined, what: string): { list: string[] | null; count: number } {
    if (values === undefined) return { list: null, count: 0 };
    if (!Array.isArray(values)) throw invalid(`${what} must be an array of strings`);
    values.forEach((v, i) => cString(v, `${what}[${i}]`));
    return { list: values.length ? values : null, count: values.length };
}

function modeOf(mode: SearchMode | number | undefined): number {
    if (mode === undefined) return 0;
    // Numbers go to trove as they are, so that trove decides what is valid.
    if (typeof mode === 'number') return mode;
    if (!Object.prototype.hasOwnProperty.call(SEARCH_MODES, mode)) {
        throw invalid(`unknown search mode ${JSON.stringify(mode)} (hybrid, vector or keyword)`);
    }
    return SEARCH_MODES[mode];
}

function strategyOf(strategy: AnswerStrategy | undefined): number {
    if (strategy === undefined) return 0;
    if (!Object.prototype.hasOwnProperty.call(STRATEGIES, strategy)) {
        throw invalid(`unknown answer strategy ${JSON.stringify(strategy)} (extractive, generative or quote)`);
    }
    return STRATEGIES[strategy];
}

const CACHE_TYPES: CacheType[] = ['f16', 'q8_0', 'q4_0'];

function cacheTypeOf(type: CacheType | undefined, what: string): number {
    if (type === undefined) return 0;
    const n = CACHE_TYPES.indexOf(type);
    if (n < 0) throw invalid(`${what} must be one of ${CACHE_TYPES.join(', ')}, got ${String(type)}`);
    return n;
}

function loraFields(adapters: LoraAdapter[] | undefined) {
    if (adapters === undefined) return { lora_paths: null, lora_scales: null, lora_count: 0 };
    if (!Array.isArray(adapters)) throw invalid('loraAdapters must be an array of { path, scale }');
    const paths = cStrings(
        adapters.map((a) => a.path),
        'loraAdapters.path',
    );
    const scales = adapters.map((a, i) => {
        const scale = a.scale ?? 1;
        if (typeof scale !== 'number' || !Number.isFinite(scale)) throw invalid(`loraAdapters[${i}].scale must be a finite number`);
        return scale;
    });
    return { lora_paths: paths.list, lora_scales: scales.length ? scales : null, lora_count: paths.count };
}

function filterFields(f: Filters) {
    const tags = cStrings(f.tags, 'tags');
    const ids = cStrings(f.documentIds, 'documentIds');
    return {
        path_prefix: optionalCString(f.pathPrefix, 'pathPrefix'),
        tags: tags.list,
        tag_count: tags.count,
        document_ids: ids.list,
        document_id_count: ids.count,
    };
}

function camelKey(key: string): string {
    return key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** JSON objects with snake_case keys to camelCase, recursively. */
function camelize(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(camelize);
    if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[camelKey(k)] = camelize(v);
        return out;
    }
    return value;
}

function progressOf(p: Record<string, number | bigint>): Progress {
    const n = (v: number | bigint | undefined) => Number(v ?? 0);
    return {
        filesDone: n(p.files_done),
        filesTotal: n(p.files_total),
        chunksQueued: n(p.chunks_queued),
        chunksEmbedded: n(p.chunks_embedded),
        chunksReused: n(p.chunks_reused),
        bytesDone: n(p.bytes_done),
        bytesTotal: n(p.bytes_total),
    };
}

/**
 * Wraps a user callback for C: exceptions are caught (C must never see
 * one), remembered, and turn into "stop". Returns trove's int32_t: 1 to go
 * on, 0 to stop.
 */
class Guard<A extends unknown[]> {
    error: unknown = undefined;
    constructor(private readonly fn: ((...args: A) => boolean | void) | undefined) {}
    call(...args: A): number {
        if (this.error !== undefined) return 0;
        if (!this.fn) return 1;
        try {
            return this.fn(...args) !== false ? 1 : 0;
        } catch (e) {
            this.error = e;
            return 0;
        }
    }
}

// ------------------------------------------- CancelToken, Conversation --

/** A handle a call may be using when the host frees it: `free()` then
 * waits for the last call to end (counted by `use`/`unuse`). */
abstract class SharedHandle {
    protected handle: Ptr;
    private users = 0;
    private freeRequested = false;

    protected constructor(
        handle: Ptr,
        private readonly what: string,
    ) {
        this.handle = handle;
    }

    /** Frees the handle (now, or when the last call using it ends). Idempotent. */
    free(): void {
        this.freeRequested = true;
        this.release();
    }

    /** @internal the live handle, counted as in use until `unuse()`. */
    use(): Ptr {
        if (this.handle === null || this.freeRequested) {
            throw new TroveError('TROVE_WRAPPER', 0, `${this.what} used after free()`);
        }
        this.users++;
        return this.handle;
    }

    /** @internal */
    unuse(): void {
        this.users--;
        this.release();
    }

    /** Frees `handle` in the library. */
    protected abstract dispose(handle: Ptr): void;

    private release(): void {
        if (this.freeRequested && this.users === 0 && this.handle !== null) {
            this.dispose(this.handle);
            this.handle = null;
        }
    }
}

/**
 * A `trove_cancel_token`: pass it to `ask`/`askAsync`/`indexPath*` and call
 * `cancel()` (e.g. from a Stop button) to stop them. Free it with `free()`;
 * a token still used by a running async call is freed when that call ends.
 */
export class CancelToken extends SharedHandle {
    private readonly lib: TroveLib;

    /** `source`: an open Trove or a library path. */
    constructor(source: Trove | string) {
        const lib = typeof source === 'string' ? loadLibrary(source) : source.library;
        super(lib.cancel_token_new(), 'CancelToken');
        this.lib = lib;
        counters.tokens.created++;
    }

    /** Raises the token: calls using it stop soon with TROVE_STATUS_CANCELLED. */
    cancel(): void {
        if (this.handle !== null) this.lib.cancel_token_cancel(this.handle);
    }

    /** Lowers the token so that it can be used again. */
    reset(): void {
        if (this.handle !== null) this.lib.cancel_token_reset(this.handle);
    }

    protected dispose(handle: Ptr): void {
        this.lib.cancel_token_free(handle);
        counters.tokens.freed++;
    }
}

/**
 * A `trove_conversation`: pass it as `options.conversation` to `ask` /
 * `askAsync` and each question becomes the next turn. `turns()` is what to
 * save; `new Conversation(trove, saved)` goes on from it. Free it with
 * `free()`; a call still using it keeps it until that call ends.
 */
export class Conversation extends SharedHandle {
    private readonly lib: TroveLib;

    /** `source`: an open Trove or a library path; `turns`: saved turns to go on from. */
    constructor(source: Trove | string, turns?: Turn[]) {
        const lib = typeof source === 'string' ? loadLibrary(source) : source.library;
        super(Conversation.open(lib, turns), 'Conversation');
        this.lib = lib;
    }

    private static open(lib: TroveLib, turns: Turn[] | undefined): Ptr {
        if (turns === undefined) return lib.conversation_new();
        const json = JSON.stringify(turns.map(snakeize));
        const out: Out<Ptr> = [null];
        check(lib, lib.conversation_from_json(json, Buffer.byteLength(json), out), 'conversation');
        return out[0];
    }

    /** The turns so far, oldest first. */
    turns(): Turn[] {
        const out: Out<string | null> = [null];
        try {
            check(this.lib, this.lib.conversation_json(this.use(), out), 'conversation turns');
        } finally {
            this.unuse();
        }
        return camelize(parseJson('turns', out[0]!)) as Turn[];
    }

    protected dispose(handle: Ptr): void {
        this.lib.conversation_free(handle);
    }
}

/** camelCase keys back to trove's snake_case, recursively (saved turns). */
function snakeize(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(snakeize);
    if (value !== null && typeof value === 'object') {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = snakeize(v);
        }
        return out;
    }
    return value;
}

// ------------------------------------------------------------------ Trove --

type RawAnswer = { answer: string } & Omit<Answer, 'text'>;

function answerOf(json: string): Answer {
    const { answer, ...rest } = camelize(parseJson('answer', json)) as RawAnswer;
    return { text: answer, ...rest };
}

/** An open trove store (a `trove_engine`). Close it with `close()`. */
export class Trove {
    /** @internal */
    readonly library: TroveLib;
    private engine: Ptr;
    private inFlight = 0;
    private asyncWrites = 0;

    private constructor(lib: TroveLib, engine: Ptr) {
        this.library = lib;
        this.engine = engine;
    }

    /** Opens (or creates) a store. Throws TroveError (e.g. NOT_FOUND / MODEL for missing models). */
    static open(options: OpenOptions): Trove {
        const lib = loadLibrary(options.library);
        const t = ctypes!;
        const out: Out<Ptr> = [null];
        const status = lib.engine_open(
            cString(options.storeDir, 'storeDir'),
            cString(options.modelsDir, 'modelsDir'),
            {
                struct_size: koffi.sizeof(t.engineOptions),
                threads: u32(options.threads, 'threads'),
                context_size: u32(options.contextSize, 'contextSize'),
                reembed: options.reembed ? 1 : 0,
                llm_path: optionalCString(options.llmPath, 'llmPath'),
                embedding_path: optionalCString(options.embeddingPath, 'embeddingPath'),
                embed_in_background: options.embedInBackground ? 1 : 0,
                embedding_threads: u32(options.embeddingThreads, 'embeddingThreads'),
                cache_type_k: cacheTypeOf(options.cacheTypeK, 'cacheTypeK'),
                cache_type_v: cacheTypeOf(options.cacheTypeV, 'cacheTypeV'),
                ...loraFields(options.loraAdapters),
                gpu_layers: u32(options.gpuLayers, 'gpuLayers'),
            },
            out,
        );
        check(lib, status, 'open');
        counters.engines.opened++;
        return new Trove(lib, out[0]);
    }

    /**
     * The GPU backends the libtrove at `library` was built with and the GPUs
     * they find (`gpuLayers` needs one); no store needed.
     */
    static gpuSupport(library: string): GpuSupport {
        const lib = loadLibrary(library);
        const out: Out<string | null> = [null];
        check(lib, lib.gpu_json(out), 'gpuSupport');
        return camelize(parseJson('gpu_support', out[0]!)) as GpuSupport;
    }

    /** libtrove's version, e.g. "0.2.0". */
    get version(): string {
        return this.library.version;
    }

    /** libtrove's version as MAJOR * 1000000 + MINOR * 1000 + PATCH. */
    get versionNumber(): number {
        return this.library.versionNumber;
    }

    /** Whether `close()` was called. */
    get closed(): boolean {
        return this.engine === null;
    }

    /** Closes the engine. Throws while an async call is running (cancel and
     * await it first). Idempotent. */
    close(): void {
        if (this.engine === null) return;
        if (this.inFlight > 0) {
            throw new TroveError('TROVE_WRAPPER', 0, `close(): ${this.inFlight} async call(s) still running`);
        }
        this.library.engine_close(this.engine);
        this.engine = null;
        counters.engines.closed++;
    }

    private live(): Ptr {
        if (this.engine === null) throw new TroveError('TROVE_WRAPPER', 0, 'the Trove is closed');
        return this.engine;
    }

    /**
     * The engine for a synchronous write. Refused while `indexPathAsync`
     * runs: its worker thread holds trove's write lock while it waits for the
     * JS thread to run `onProgress`, and a synchronous write on the JS thread
     * would wait for that lock: a deadlock (seen with trove 0.1.0).
     */
    private writable(what: string): Ptr {
        if (this.asyncWrites > 0) {
            throw new TroveError('TROVE_WRAPPER', 0, `${what}: an indexPathAsync is running; await it first`);
        }
        return this.live();
    }

    /** Adds or replaces a note of the host app (Markdown); what was indexed. */
    addText(note: Note): IndexSummary {
        if (note === null || typeof note !== 'object') throw invalid('addText: the note must be an object');
        const id = bytesOf(note.id, 'note.id', false);
        const title = note.title === undefined ? null : bytesOf(note.title, 'note.title', false);
        const text = bytesOf(note.text, 'note.text', false);
        const metadata =
            note.metadata === undefined ? null : bytesOf(JSON.stringify(note.metadata), 'note.metadata', false);
        const out: Out<string | null> = [null];
        const status = this.library.add_text(
            this.writable('addText'),
            {
                struct_size: koffi.sizeof(ctypes!.note),
                id: id.bytes,
                id_len: id.len,
                title: title?.bytes ?? null,
                title_len: title?.len ?? 0,
                text: text.bytes,
                text_len: text.len,
                metadata_json: metadata?.bytes ?? null,
                metadata_json_len: metadata?.len ?? 0,
            },
            out,
        );
        check(this.library, status, 'addText');
        return camelize(parseJson('index_summary', out[0]!)) as IndexSummary;
    }

    /** Indexes a file or folder, blocking the JS thread; `onProgress` runs inline. */
    indexPath(path: string, options: IndexOptions = {}): IndexSummary {
        const lib = this.library;
        const engine = this.writable('indexPath');
        const cPath = cString(path, 'path');
        const guard = new Guard<[Progress]>(options.onProgress);
        const token = options.cancel?.use() ?? null;
        const out: Out<string | null> = [null];
        let status: number;
        try {
            status = lib.index_path(
                engine,
                cPath,
                token,
                options.onProgress ? (p: Ptr) => guard.call(progressOf(koffi.decode(p, ctypes!.progress))) : null,
                null,
                out,
            );
        } finally {
            options.cancel?.unuse();
        }
        if (guard.error !== undefined) throw guard.error;
        check(lib, status, `index ${path}`);
        return camelize(parseJson('index_summary', out[0]!)) as IndexSummary;
    }

    /** Indexes on a worker thread; `onProgress` runs on the JS thread. */
    indexPathAsync(path: string, options: IndexOptions = {}): Promise<IndexSummary> {
        const lib = this.library;
        let cPath: string;
        try {
            cPath = cString(path, 'path'); // validates before anything is held
        } catch (e) {
            return Promise.reject(e);
        }
        const guard = new Guard<[Progress]>(options.onProgress);
        return this.runAsync(
            true,
            options.cancel,
            options.onProgress
                ? koffi.register(
                      (p: Ptr) => guard.call(progressOf(koffi.decode(p, ctypes!.progress))),
                      koffi.pointer(ctypes!.progressFn),
                  )
                : null,
            [],
            (engine, token, cb, done) => {
                const out: Out<string | null> = [null];
                lib.index_path.async(engine, cPath, token, cb, null, out, (err, status) =>
                    done(err, () => {
                        if (guard.error !== undefined) throw guard.error;
                        if (status !== 0) throw asyncFailure(lib, status, `index ${path}`);
                        return camelize(parseJson('index_summary', out[0]!)) as IndexSummary;
                    }),
                );
            },
        );
    }

    /** Removes a document by host id or absolute path; whether it was there. */
    removeDocument(id: Text): boolean {
        const engine = this.writable('removeDocument');
        const { bytes, len } = bytesOf(id, 'id', false);
        const out: Out<boolean> = [false];
        check(this.library, this.library.remove_document(engine, bytes, len, out), 'removeDocument');
        return out[0];
    }

    /** Removes every file document at or under `path`; how many. */
    removePath(path: string): number {
        const engine = this.writable('removePath');
        const out: Out<number | bigint> = [0];
        check(this.library, this.library.remove_path(engine, cString(path, 'path'), out), 'removePath');
        return Number(out[0]);
    }

    /** Ranked passages, best first. */
    search(query: Text, options: SearchOptions = {}): Hit[] {
        const lib = this.library;
        const engine = this.live();
        const { bytes, len } = bytesOf(query, 'query', false);
        const out: Out<Ptr> = [null];
        const status = lib.search(
            engine,
            bytes,
            len,
            {
                struct_size: koffi.sizeof(ctypes!.searchOptions),
                k: u32(options.k, 'k'),
                mode: modeOf(options.mode),
                one_per_document: options.onePerDocument ? 1 : 0,
                ...filterFields(options),
            },
            out,
        );
        check(lib, status, 'search');
        counters.results.created++;
        try {
            const json = lib.results_json(out[0], null); // lent: copied by koffi
            return camelize(parseJson('hits', json ?? '[]')) as Hit[];
        } finally {
            lib.results_free(out[0]);
            counters.results.freed++;
        }
    }

    private askOptionsStruct(options: AskOptions, token: Ptr) {
        return {
            cancel: token,
            struct_size: koffi.sizeof(ctypes!.askOptions),
            k: u32(options.k, 'k'),
            mode: modeOf(options.mode),
            max_tokens: u32(options.maxTokens, 'maxTokens'),
            temperature: options.temperature ?? 0,
            seed: u32(options.seed, 'seed'),
            ...filterFields(options),
            strategy: strategyOf(options.strategy),
            min_grounding: options.minGrounding ?? 0,
            never_decline: options.minGrounding === 0 ? 1 : 0,
            min_draft_support: options.minDraftSupport ?? 0,
        };
    }

    /** Decodes then frees an answer handle (exactly once). */
    private takeAnswer(answer: Ptr): Answer {
        counters.answers.created++;
        try {
            return answerOf(this.library.answer_json(answer, null)!); // lent: copied by koffi
        } finally {
            this.library.answer_free(answer);
            counters.answers.freed++;
        }
    }

    /** Answers a question, blocking the JS thread; `onToken` runs inline. */
    ask(question: Text, options: AskOptions = {}): Answer {
        const lib = this.library;
        const engine = this.live();
        const { bytes, len } = bytesOf(question, 'question', false);
        const struct = this.askOptionsStruct(options, null);
        const guard = new Guard<[string]>(options.onToken);
        const conversation = options.conversation;
        const held = conversation?.use() ?? null;
        let status: number;
        const out: Out<Ptr> = [null];
        try {
            struct.cancel = options.cancel?.use() ?? null;
            const onToken = options.onToken ? (piece: string) => guard.call(piece) : null;
            try {
                status = conversation
                    ? lib.ask_in(engine, held, bytes, len, struct, onToken, null, out)
                    : lib.ask(engine, bytes, len, struct, onToken, null, out);
            } finally {
                options.cancel?.unuse();
            }
        } finally {
            conversation?.unuse();
        }
        const answer = status === 0 ? this.takeAnswer(out[0]) : null;
        if (guard.error !== undefined) throw guard.error;
        check(lib, status, 'ask');
        return answer!;
    }

    /**
     * Answers a question on a worker thread: the JS thread stays responsive,
     * `onToken` receives the pieces on the JS thread as they are generated,
     * and `options.cancel.cancel()` stops it (rejects with TROVE_STATUS_CANCELLED).
     */
    askAsync(question: Text, options: AskOptions = {}): Promise<Answer> {
        const lib = this.library;
        let struct: ReturnType<Trove['askOptionsStruct']>;
        let text: { bytes: Buffer; len: number };
        try {
            // Validates before anything is held; the worker reads a copy.
            text = bytesOf(question, 'question', true);
            struct = this.askOptionsStruct(options, null);
        } catch (e) {
            return Promise.reject(e);
        }
        const guard = new Guard<[string]>(options.onToken);
        return this.runAsync(
            false,
            options.cancel,
            options.onToken
                ? koffi.register((piece: string) => guard.call(piece), koffi.pointer(ctypes!.tokenFn))
                : null,
            [text.bytes],
            (engine, token, cb, done) => {
                const out: Out<Ptr> = [null];
                struct.cancel = token;
                const conversation = options.conversation;
                const held = conversation?.use() ?? null;
                const finished = (err: unknown, status: number) => {
                    conversation?.unuse();
                    done(err, () => {
                        const answer = status === 0 ? this.takeAnswer(out[0]) : null;
                        if (guard.error !== undefined) throw guard.error;
                        if (status !== 0) throw asyncFailure(lib, status, 'ask');
                        return answer!;
                    });
                };
                try {
                    if (conversation) {
                        lib.ask_in.async(engine, held, text.bytes, text.len, struct, cb, null, out, finished);
                    } else {
                        lib.ask.async(engine, text.bytes, text.len, struct, cb, null, out, finished);
                    }
                } catch (e) {
                    conversation?.unuse();
                    throw e;
                }
            },
        );
    }

    /**
     * Common frame of the async calls: counts the call as in flight (close()
     * refuses meanwhile, and synchronous writes while a `write` runs), holds
     * the cancel token and the buffers the worker reads (`held`: koffi keeps
     * only its completion callback alive), and unregisters the callback
     * exactly once when the call completes.
     */
    private runAsync<T>(
        write: boolean,
        cancel: CancelToken | undefined,
        callback: bigint | null,
        held: Buffer[],
        start: (
            engine: Ptr,
            token: Ptr,
            callback: bigint | null,
            done: (err: unknown, finish: () => T) => void,
        ) => void,
    ): Promise<T> {
        if (callback !== null) counters.registeredCallbacks.registered++;
        const cleanup: (() => void)[] = [];
        const unregister = () => {
            if (callback !== null) {
                koffi.unregister(callback);
                counters.registeredCallbacks.unregistered++;
            }
        };
        cleanup.push(unregister);
        // Referenced until the call completes, so never collected while read.
        cleanup.push(() => held.splice(0));
        return new Promise<T>((resolve, reject) => {
            const finishAll = () => {
                for (const c of cleanup.splice(0)) c();
            };
            try {
                const engine = this.live();
                const token = cancel ? cancel.use() : null;
                if (cancel) cleanup.push(() => cancel.unuse());
                this.inFlight++;
                cleanup.push(() => this.inFlight--);
                if (write) {
                    this.asyncWrites++;
                    cleanup.push(() => this.asyncWrites--);
                }
                start(engine, token, callback, (err, finish) => {
                    finishAll();
                    if (err) return reject(err instanceof Error ? err : new Error(String(err)));
                    try {
                        resolve(finish());
                    } catch (e) {
                        reject(e);
                    }
                });
            } catch (e) {
                finishAll();
                reject(e);
            }
        });
    }

    /** The links written in a document (host id or absolute path, as hits
     * give it), in document order, each with the document it resolves to. */
    outgoingLinks(documentId: Text): DocumentLink[] {
        const { bytes, len } = bytesOf(documentId, 'documentId', false);
        const out: Out<string | null> = [null];
        check(this.library, this.library.outgoing_links_json(this.live(), bytes, len, out), 'outgoingLinks');
        return camelize(parseJson('links', out[0]!)) as DocumentLink[];
    }

    /** The links of other documents that resolve to `documentId` ("notes linking here"). */
    backlinks(documentId: Text): DocumentLink[] {
        const { bytes, len } = bytesOf(documentId, 'documentId', false);
        const out: Out<string | null> = [null];
        check(this.library, this.library.backlinks_json(this.live(), bytes, len, out), 'backlinks');
        return camelize(parseJson('links', out[0]!)) as DocumentLink[];
    }

    /** Where a document (host id or absolute path) stands: indexed, changed,
     * missing, failed (and why) or not indexed. */
    documentStatus(documentId: Text): DocumentStatus {
        const { bytes, len } = bytesOf(documentId, 'documentId', false);
        const out: Out<string | null> = [null];
        check(this.library, this.library.document_status_json(this.live(), bytes, len, out), 'documentStatus');
        return camelize(parseJson('document_status', out[0]!)) as DocumentStatus;
    }

    /** Why a document ranks where it does for `query` ("why is my note not found?"). */
    explain(query: Text, documentId: Text): Explanation {
        const q = bytesOf(query, 'query', false);
        const { bytes, len } = bytesOf(documentId, 'documentId', false);
        const out: Out<string | null> = [null];
        check(this.library, this.library.explain_json(this.live(), q.bytes, q.len, bytes, len, out), 'explain');
        return camelize(parseJson('explanation', out[0]!)) as Explanation;
    }

    /** Store statistics. */
    stats(): Stats {
        const out: Out<string | null> = [null];
        check(this.library, this.library.stats_json(this.live(), out), 'stats');
        return camelize(parseJson('stats', out[0]!)) as Stats;
    }

    /**
     * The engine's models (embedding, answer, LoRA adapters), each hashed
     * and checked against what was recorded for it. An answer model changed
     * since the store recorded it is refused until `accept` records it.
     * Reads every model file: seconds for large ones.
     */
    models(accept = false): ModelInfo[] {
        const out: Out<string | null> = [null];
        check(this.library, this.library.models_json(this.live(), accept ? 1 : 0, out), 'models');
        return camelize(parseJson('models', out[0]!)) as ModelInfo[];
    }

    /** Where embedding stands: chunks embedded of all, pending, paused. */
    embeddingStatus(): EmbeddingStatus {
        const out: Out<string | null> = [null];
        check(this.library, this.library.embedding_status_json(this.live(), out), 'embeddingStatus');
        return camelize(parseJson('embedding_status', out[0]!)) as EmbeddingStatus;
    }

    /**
     * Embeds every queued chunk on a worker thread (also while paused), for
     * full hybrid search after indexing with `embedInBackground`;
     * `onProgress` runs on the JS thread after each batch.
     */
    finishEmbeddingAsync(options: IndexOptions = {}): Promise<IndexSummary> {
        const lib = this.library;
        const guard = new Guard<[Progress]>(options.onProgress);
        return this.runAsync(
            true,
            options.cancel,
            options.onProgress
                ? koffi.register(
                      (p: Ptr) => guard.call(progressOf(koffi.decode(p, ctypes!.progress))),
                      koffi.pointer(ctypes!.progressFn),
                  )
                : null,
            [],
            (engine, token, cb, done) => {
                const out: Out<string | null> = [null];
                lib.embedding_finish.async(engine, token, cb, null, out, (err, status) =>
                    done(err, () => {
                        if (guard.error !== undefined) throw guard.error;
                        if (status !== 0) throw asyncFailure(lib, status, 'finishEmbedding');
                        return camelize(parseJson('index_summary', out[0]!)) as IndexSummary;
                    }),
                );
            },
        );
    }

    /** Pauses background embedding (a batch in flight finishes). */
    pauseEmbedding(): void {
        check(this.library, this.library.embedding_pause(this.live()), 'pauseEmbedding');
    }

    /** Resumes background embedding. */
    resumeEmbedding(): void {
        check(this.library, this.library.embedding_resume(this.live()), 'resumeEmbedding');
    }

    /** Threads for embedding passages from the next batch on (at least 1): lower it on battery. */
    setEmbeddingThreads(threads: number): void {
        check(
            this.library,
            this.library.embedding_set_threads(this.live(), u32(threads, 'threads')),
            'setEmbeddingThreads',
        );
    }
}
