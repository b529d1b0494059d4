// Drives the compiled wrapper (build/trove.js) against a temporary vault with
// the real libtrove and models.
//
//   TROVE_LIB=/path/libtrove.so TROVE_MODELS=/path/models node --test test/
//
// TROVE_TEST_THREADS (default 1) and TROVE_LEAK_CALLS (default 100000) tune it.
// Every JSON text the wrapper reads from the library is checked against the
// committed shapes (SHAPES_FILE); the wrapper's TROVE_VERSION against the
// header's macros (HEADER_FILE).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

const require = createRequire(import.meta.url);
const { Trove, CancelToken, Conversation, TroveError, ffiCounters, observeJson, TROVE_VERSION } = require(
    '../build/trove.js',
);

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SHAPES_FILE = path.join(REPO, 'tests', 'json', 'shapes.json');
const HEADER_FILE = path.join(REPO, 'include', 'trove.h');

const LIB = process.env.TROVE_LIB;
const MODELS = process.env.TROVE_MODELS;
if (!LIB || !MODELS) throw new Error('set TROVE_LIB (libtrove.so) and TROVE_MODELS (models folder)');
const THREADS = Number(process.env.TROVE_TEST_THREADS ?? 1);
const LEAK_CALLS = Number(process.env.TROVE_LEAK_CALLS ?? 100_000);
const LEAK_BOUND_MB = 32;
// Before each RSS sample: a full GC (without needing node --expose-gc), then
// glibc's malloc_trim(0), which hands free heap pages back to the kernel.
// Without it, a leak first fills the free heap that model loading left
// behind and hides from RSS: 20 000 unfreed results handles showed +2.5 MB
// untrimmed and +43 MB trimmed.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
let mallocTrim = () => 0;
try {
    mallocTrim = require('koffi').load('libc.so.6').func('int malloc_trim(size_t pad)');
} catch {
    // not glibc: RSS samples include free heap
}
function rss() {
    gc();
    mallocTrim(0);
    return process.memoryUsage().rss;
}

const NOTES = {
    'espresso.md': `---
tags: [coffee]
---
# Espresso dial-in

My machine settings: brew temperature 93 °C on the PID, 18 g dose, 36 g yield,
27 to 30 seconds. For very dark roasts drop the temperature to 90 °C.
`,
    'sourdough.md': `# Sourdough

Feed the starter named Bubbles twice a day with rye flour. The dough proofs
overnight in the fridge at 4 °C and bakes for 45 minutes at 240 °C in a Dutch oven.
`,
    'garden/tomatoes.md': `# Tomatoes

The San Marzano tomatoes went into the raised bed on 12 May. Water them every
second evening; the basil grows between the rows against aphids.
`,
    'travel/lisbon.md': `# Lisbon trip

We stay at a guesthouse in Alfama from 3 to 9 April 2025. Tram 28 starts at
Martim Moniz; buy the Viva Viagem card at the metro station.
`,
};

/**
 * Checks `value` against `shape` in the notation of SHAPES_FILE ("_about"):
 * a type name (string, integer, number, boolean) with an optional "|null",
 * "$name" for another shape, [shape] for an array, an object for exactly
 * its keys. Returns the first mismatch as "at: why", or null.
 */
function shapeError(shapes, shape, value, at) {
    if (typeof shape === 'string') {
        const nullable = shape.endsWith('|null');
        const spec = nullable ? shape.slice(0, -'|null'.length) : shape;
        if (value === null) return nullable ? null : `${at}: null where ${spec} is wanted`;
        if (spec.startsWith('$')) {
            const target = shapes[spec.slice(1)];
            if (target === undefined) throw new Error(`no shape ${spec} in ${SHAPES_FILE}`);
            return shapeError(shapes, target, value, at);
        }
        const fits = {
            string: (v) => typeof v === 'string',
            integer: (v) => Number.isInteger(v),
            number: (v) => typeof v === 'number' && Number.isFinite(v),
            boolean: (v) => typeof v === 'boolean',
        }[spec];
        if (!fits) throw new Error(`unknown type ${spec} in ${SHAPES_FILE}`);
        return fits(value) ? null : `${at}: ${JSON.stringify(value)} is not ${spec}`;
    }
    if (Array.isArray(shape)) {
        if (!Array.isArray(value)) return `${at}: ${JSON.stringify(value)} is not an array`;
        for (let i = 0; i < value.length; i++) {
            const e = shapeError(shapes, shape[0], value[i], `${at}[${i}]`);
            if (e) return e;
        }
        return null;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return `${at}: ${JSON.stringify(value)} is not an object`;
    }
    const extra = Object.keys(value).find((k) => !Object.hasOwn(shape, k));
    if (extra !== undefined) return `${at}: key ${extra} is not in the shape`;
    for (const [key, field] of Object.entries(shape)) {
        if (!Object.hasOwn(value, key)) return `${at}: key ${key} is missing`;
        const e = shapeError(shapes, field, value[key], `${at}.${key}`);
        if (e) return e;
    }
    return null;
}

const SHAPES = JSON.parse(fs.readFileSync(SHAPES_FILE, 'utf8'));
/** The wrapper's JSON kinds to shapes: "hits" is trove_results_json, an array of hits. */
const SHAPE_OF_KIND = {
    hits: ['$hit'],
    answer: '$answer',
    index_summary: '$index_summary',
    stats: '$stats',
    embedding_status: '$embedding_status',
    turns: ['$turn'],
    links: ['$document_link'],
    document_status: '$document_status',
    explanation: '$explanation',
    models: ['$model_info'],
    gpu_support: '$gpu_support',
};
const jsonSeen = { hits: 0, answer: 0, index_summary: 0, stats: 0, embedding_status: 0, turns: 0, links: 0, document_status: 0, explanation: 0, models: 0, gpu_support: 0 };
const jsonMismatches = [];
function checkJson(kind, json) {
    jsonSeen[kind]++;
    const e = shapeError(SHAPES, SHAPE_OF_KIND[kind], JSON.parse(json), kind);
    if (e) jsonMismatches.push(e);
}

let vault;
let trove;

function isTroveError(status) {
    return (e) => {
        assert.ok(e instanceof TroveError, `expected a TroveError, got ${e}`);
        assert.equal(e.status, status);
        assert.ok(e.message.length > 0);
        return true;
    };
}

before(() => {
    observeJson(checkJson);
    vault = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-vault-'));
    for (const [name, text] of Object.entries(NOTES)) {
        fs.mkdirSync(path.dirname(path.join(vault, name)), { recursive: true });
        fs.writeFileSync(path.join(vault, name), text);
    }
    // Like the plugin: the store is <vault>/.trove, which indexing skips (hidden).
    trove = Trove.open({ library: LIB, modelsDir: MODELS, storeDir: path.join(vault, '.trove'), threads: THREADS });
});

after(() => {
    trove?.close();
    if (vault) fs.rmSync(vault, { recursive: true, force: true });
});

test('open with missing models fails with a status name and trove message', () => {
    const missing = path.join(vault, 'no-models');
    assert.throws(
        () => Trove.open({ library: LIB, modelsDir: missing, storeDir: path.join(vault, '.other') }),
        (e) => isTroveError('TROVE_STATUS_NOT_FOUND')(e) && e.message.includes(missing),
    );
});

test('version: the wrapper matches trove.h and the library it loaded', () => {
    const header = fs.readFileSync(HEADER_FILE, 'utf8');
    const macro = (name) => Number(new RegExp(`#define TROVE_VERSION_${name} (\\d+)`).exec(header)[1]);
    const fromHeader = { major: macro('MAJOR'), minor: macro('MINOR'), patch: macro('PATCH') };
    assert.deepEqual({ ...TROVE_VERSION }, fromHeader, 'trove.ts TROVE_VERSION is the header\'s');
    assert.equal(trove.versionNumber, fromHeader.major * 1_000_000 + fromHeader.minor * 1_000 + fromHeader.patch);
    assert.equal(trove.version, `${fromHeader.major}.${fromHeader.minor}.${fromHeader.patch}`);
});

test('version: a library of another MAJOR.MINOR, or without a version number, is refused', () => {
    // Small stand-in libraries that export only the version functions: the
    // check must come before anything else is bound.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-fake-lib-'));
    const build = (name, number, text) => {
        const src = path.join(dir, `${name}.c`);
        const lib = path.join(dir, `lib${name}.so`);
        const numberFn = number === null ? '' : `unsigned trove_version_number(void) { return ${number}u; }\n`;
        fs.writeFileSync(src, `${numberFn}const char *trove_version(void) { return "${text}"; }\n`);
        execFileSync(process.env.CC ?? 'cc', ['-shared', '-fPIC', '-o', lib, src]);
        return lib;
    };
    const wanted = `${TROVE_VERSION.major}.${TROVE_VERSION.minor}.${TROVE_VERSION.patch}`;
    const open = (library) => Trove.open({ library, modelsDir: MODELS, storeDir: path.join(dir, 'store') });
    try {
        const refused = (library, why) =>
            assert.throws(
                () => open(library),
                (e) =>
                    isTroveError('TROVE_WRAPPER')(e) &&
                    why.test(e.message) &&
                    e.message.includes(library) &&
                    e.message.includes(`trove.h ${wanted}`),
            );
        const other = TROVE_VERSION.major * 1_000_000 + (TROVE_VERSION.minor + 1) * 1_000;
        refused(build('next_minor', other, 'x'), new RegExp(`version ${TROVE_VERSION.major}\\.${TROVE_VERSION.minor + 1}\\.0`));
        refused(build('next_major', (TROVE_VERSION.major + 1) * 1_000_000, 'x'), new RegExp(`version ${TROVE_VERSION.major + 1}\\.0\\.0`));
        refused(build('old', null, '0.1.0'), /\(version 0\.1\.0\) has no trove_version_number\(\)/);
        // Another PATCH is compatible: the check passes and binding goes on
        // (and fails here only because the stand-in has nothing else).
        const patch = build('next_patch', TROVE_VERSION.major * 1_000_000 + TROVE_VERSION.minor * 1_000 + 7, 'x');
        assert.throws(
            () => open(patch),
            (e) => !(e instanceof TroveError) && /trove_string_free/.test(e.message),
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('index: summary counts, progress, then nothing changed (async)', async () => {
    const progress = [];
    const summary = trove.indexPath(vault, { onProgress: (p) => void progress.push(p) });
    const n = Object.keys(NOTES).length;
    assert.equal(summary.filesSeen, n);
    assert.equal(summary.filesIndexed, n);
    assert.equal(summary.filesFailed, 0);
    assert.ok(summary.chunksEmbedded >= n);
    assert.ok(progress.length > 0);
    assert.equal(progress.at(-1).filesDone, n);

    const asyncProgress = [];
    const pending = trove.indexPathAsync(vault, { onProgress: (p) => void asyncProgress.push(p) });
    // A synchronous write now could deadlock (the worker holds the write lock
    // while it waits for the JS thread): the wrapper refuses it.
    assert.throws(() => trove.addText({ id: 'host:x', title: 'x', text: 'x' }), isTroveError('TROVE_WRAPPER'));
    const again = await pending;
    assert.ok(asyncProgress.length > 0);
    assert.equal(again.filesUnchanged, n);
    assert.equal(again.filesIndexed, 0);
    assert.equal(again.chunksEmbedded, 0);

    const stats = trove.stats();
    assert.equal(stats.documents, n);
    assert.equal(stats.embeddingModel.dimensions, 384);
    assert.equal(stats.lastIndexRun.filesUnchanged, n);
    assert.ok(Number.isInteger(stats.lastIndexRun.finishedAtUnix) && stats.lastIndexRun.finishedAtUnix > 0);
    assert.ok(summary.bytesIndexed > 0 && summary.stages.embedMs >= 0);
});

test('search: the right note first, in every mode, with filters', () => {
    for (const mode of ['hybrid', 'vector', 'keyword']) {
        const hits = trove.search('What brew temperature for espresso?', { k: 3, mode });
        assert.ok(hits.length > 0, mode);
        assert.equal(path.basename(hits[0].path), 'espresso.md', mode);
        assert.ok(hits[0].lines && hits[0].lines[0] >= 1);
        assert.ok(Number.isInteger(hits[0].chunkId) && hits[0].chunkId > 0, mode);
    }
    const tram = trove.search('which tram line in Lisbon', { k: 1 });
    assert.equal(tram[0].path, path.join(vault, 'travel/lisbon.md'));
    const garden = trove.search('temperature', { k: 5, mode: 'keyword', pathPrefix: path.join(vault, 'garden') });
    assert.ok(garden.every((h) => h.path.startsWith(path.join(vault, 'garden'))));
    const coffee = trove.search('temperature', { k: 5, tags: ['coffee'] });
    assert.deepEqual([...new Set(coffee.map((h) => path.basename(h.path)))], ['espresso.md']);
});

test('addText / removeDocument / removePath', () => {
    const added = trove.addText({
        id: 'host:pin',
        title: 'Bike lock',
        text: 'The code of the bike lock is 4711.',
        metadata: { tags: ['bike'] },
    });
    assert.equal(added.filesSeen, 1);
    assert.ok(added.chunksEmbedded >= 1);
    // The same note again costs nothing.
    const again = trove.addText({
        id: 'host:pin',
        title: 'Bike lock',
        text: 'The code of the bike lock is 4711.',
        metadata: { tags: ['bike'] },
    });
    assert.equal(again.filesUnchanged, 1);
    assert.equal(again.chunksEmbedded, 0);
    const hits = trove.search('bike lock code', { k: 1, mode: 'keyword' });
    assert.equal(hits[0].documentId, 'host:pin');
    assert.equal(hits[0].path, null);
    assert.equal(hits[0].title, 'Bike lock');
    assert.deepEqual(hits[0].tags, ['bike']);
    assert.equal(trove.removeDocument('host:pin'), true);
    assert.equal(trove.removeDocument('host:pin'), false);

    const extra = path.join(vault, 'travel/porto.md');
    fs.writeFileSync(extra, '# Porto\n\nThe train to Porto leaves Santa Apolónia at 9:00.\n');
    trove.indexPath(extra);
    assert.equal(trove.removePath(path.join(vault, 'travel')), 2);
    fs.rmSync(extra);
    trove.indexPath(vault); // lisbon.md back
    assert.equal(trove.stats().documents, Object.keys(NOTES).length);
});

test('outgoingLinks / backlinks: a host note linking to vault notes', () => {
    trove.addText({
        id: 'host:menu',
        title: 'Breakfast',
        text: 'Coffee as in [[espresso|my espresso notes]], bread from [[Sourdough]], and [[Pancakes]].',
    });
    try {
        const out = trove.outgoingLinks('host:menu');
        assert.deepEqual(
            out.map((l) => l.target),
            ['espresso', 'Sourdough', 'Pancakes'],
        );
        assert.equal(out[0].alias, 'my espresso notes');
        assert.equal(out[0].resolved.path, fs.realpathSync(path.join(vault, 'espresso.md')));
        assert.equal(out[2].resolved, null);
        const back = trove.backlinks(fs.realpathSync(path.join(vault, 'sourdough.md')));
        assert.deepEqual(
            back.map((l) => l.source.documentId),
            ['host:menu'],
        );
        assert.throws(() => trove.backlinks('host:nothing'), isTroveError('TROVE_STATUS_NOT_FOUND'));
    } finally {
        trove.removeDocument('host:menu');
    }
    assert.deepEqual(trove.backlinks(fs.realpathSync(path.join(vault, 'sourdough.md'))), []);
});

test('documentStatus / explain: why a note is or is not found', () => {
    const espresso = fs.realpathSync(path.join(vault, 'espresso.md'));
    const status = trove.documentStatus(espresso);
    assert.equal(status.state, 'indexed');
    assert.ok(status.chunks >= 1);
    assert.equal(trove.documentStatus('/nowhere/else.md').state, 'not_indexed');
    const why = trove.explain('espresso brew temperature', espresso);
    assert.equal(why.hybrid.rank, 1);
    assert.equal(why.bestPassage.documentId, espresso);
    assert.ok(why.reasons[0].includes('ranks it first'), why.reasons.join('; '));
    const not = trove.explain('sourdough starter rye flour', espresso);
    assert.equal(not.keyword.score, null);
    assert.ok(not.first.path.endsWith('sourdough.md'));
});

test('ask: the default answer quotes its source; off-topic questions are declined', () => {
    const answer = trove.ask('What brew temperature do I use for espresso?');
    assert.equal(answer.declined, false);
    assert.equal(answer.strategy, 'extractive');
    assert.ok(answer.text.includes('93'), answer.text);
    assert.equal(path.basename(answer.citations[0].path), 'espresso.md');
    const support = answer.sentences[0].support;
    const passage = [...answer.passages[support.n - 1].text]; // offsets count code points
    const quote = passage.slice(support.start, support.end).join('');
    assert.ok(answer.text.includes(quote.split(/\s+/).join(' ')), quote);
    assert.ok(answer.grounding.score >= answer.grounding.threshold);
    const off = trove.ask('Who won the football world cup in 2014?');
    assert.equal(off.declined, true);
    assert.ok(off.text.startsWith('Not in your documents'), off.text);
    assert.deepEqual(off.citations, []);
    assert.ok(off.grounding.score < off.grounding.threshold);
    assert.equal(trove.ask('Who won the football world cup in 2014?', { minGrounding: 0 }).declined, false);
    assert.throws(() => trove.ask('espresso?', { strategy: 'poem' }), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
});

test('a conversation: the follow-up is searched with the question before it, and its turns restore', async () => {
    const chat = new Conversation(trove);
    const first = trove.ask('Where do we stay in Lisbon?', { conversation: chat });
    assert.equal(first.history.query, 'Where do we stay in Lisbon?');
    const follow = await trove.askAsync('And which tram starts at Martim Moniz?', { conversation: chat });
    assert.equal(follow.history.query, 'Where do we stay in Lisbon? And which tram starts at Martim Moniz?');
    assert.equal(path.basename(follow.passages[0].path), 'lisbon.md');
    assert.ok(follow.text.includes('Tram 28'), follow.text);
    const turns = chat.turns();
    assert.equal(turns.length, 2);
    assert.equal(turns[1].question, 'And which tram starts at Martim Moniz?');
    assert.equal(turns[1].passages[0].documentId, follow.passages[0].documentId);
    const restored = new Conversation(trove, turns);
    const next = trove.ask('And when do we leave?', { conversation: restored });
    assert.ok(next.history.query.startsWith('And which tram starts at Martim Moniz?'), next.history.query);
    assert.equal(restored.turns().length, 3);
    restored.free();
    chat.free();
    chat.free(); // idempotent
    assert.throws(() => trove.ask('espresso?', { conversation: chat }), isTroveError('TROVE_WRAPPER'));
    assert.throws(() => new Conversation(trove, [{ question: 1 }]), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
});

test('ask (sync): streamed pieces make the answer, with citations', () => {
    const pieces = [];
    const answer = trove.ask('What brew temperature do I use for espresso?', {
        k: 2,
        maxTokens: 32,
        strategy: 'generative',
        onToken: (p) => void pieces.push(p),
    });
    console.log(`  sync answer: ${JSON.stringify(answer.text)} (${pieces.length} pieces)`);
    assert.ok(pieces.length > 0);
    assert.equal(pieces.join(''), answer.draft ?? answer.text);
    assert.ok(answer.citations.length > 0, 'cites a source');
    for (const c of answer.citations) {
        assert.ok(c.n >= 1 && c.n <= answer.passages.length);
        assert.ok(c.path.startsWith(vault));
        // A citation is its passage, with its mark.
        assert.equal(c.text, answer.passages[c.n - 1].text);
        assert.equal(c.chunkId, answer.passages[c.n - 1].chunkId);
    }
    assert.ok(Array.isArray(answer.dropped));
    assert.equal(path.basename(answer.citations[0].path), 'espresso.md');
    assert.ok(['end_of_text', 'max_tokens', 'stop_string'].includes(answer.stopReason));
    assert.ok(answer.timings.decodeTokens > 0);
});

test('askAsync: pieces arrive on the JS thread while it stays responsive', async () => {
    const pieces = [];
    let ticks = 0;
    let ticksAtFirstPiece = -1;
    const timer = setInterval(() => ticks++, 10);
    try {
        // Given as bytes and overwritten right after the call: the worker
        // must read the wrapper's copy (0xff would be invalid UTF-8).
        const question = Buffer.from('When does the sourdough bake and how hot?');
        const pending = trove.askAsync(question, {
            k: 2,
            maxTokens: 32,
            strategy: 'generative',
            onToken: (p) => {
                if (ticksAtFirstPiece < 0) ticksAtFirstPiece = ticks;
                pieces.push(p);
            },
        });
        question.fill(0xff);
        const answer = await pending;
        console.log(`  async answer: ${JSON.stringify(answer.text)} (timer ran ${ticks} times meanwhile)`);
        // What streamed is the model's draft; the answer is the checked text.
        assert.equal(pieces.join(''), answer.draft ?? answer.text);
        assert.ok(answer.citations.length > 0);
        assert.ok(ticksAtFirstPiece > 0, 'the event loop ran while the prompt was evaluated');
    } finally {
        clearInterval(timer);
    }
});

test('askAsync: a CancelToken raised from the JS thread cancels', async () => {
    const before = ffiCounters();
    const token = new CancelToken(trove);
    const pieces = [];
    const started = Date.now();
    const pending = trove.askAsync('Where do we stay in Lisbon and when?', {
        k: 2,
        maxTokens: 48,
        strategy: 'generative',
        cancel: token,
        onToken: (p) => {
            pieces.push(p);
            // Like a Stop button: a later turn of the event loop.
            if (pieces.length === 1) setImmediate(() => token.cancel());
        },
    });
    assert.throws(() => trove.close(), isTroveError('TROVE_WRAPPER'), 'close() refuses while a call runs');
    token.free(); // deferred: the running call still holds it
    await assert.rejects(pending, isTroveError('TROVE_STATUS_CANCELLED'));
    console.log(`  cancelled after ${pieces.length} piece(s), ${Date.now() - started} ms`);
    assert.ok(pieces.length >= 1 && pieces.length < 48);
    const now = ffiCounters();
    assert.equal(now.tokens.freed, before.tokens.freed + 1, 'token freed once the call ended');
    assert.equal(now.answers.created, before.answers.created, 'no answer handle on failure');
    assert.equal(now.registeredCallbacks.unregistered, now.registeredCallbacks.registered);

    // A token raised before the call: cancelled at once, also synchronously.
    const raised = new CancelToken(trove);
    raised.cancel();
    assert.throws(() => trove.ask('espresso?', { maxTokens: 16, strategy: 'generative', cancel: raised }), isTroveError('TROVE_STATUS_CANCELLED'));
    raised.reset();
    raised.free();
    raised.free(); // idempotent
});

test('onToken returning false stops with stopReason "callback"; exceptions propagate', async () => {
    const pieces = [];
    const answer = await trove.askAsync('How often do I water the tomatoes?', {
        k: 2,
        maxTokens: 32,
        strategy: 'generative',
        onToken: (p) => {
            pieces.push(p);
            return pieces.length < 2;
        },
    });
    assert.equal(answer.stopReason, 'callback');
    assert.equal(pieces.length, 2);
    await assert.rejects(
        trove.askAsync('espresso?', {
            maxTokens: 16,
            strategy: 'generative',
            onToken: () => {
                throw new Error('boom');
            },
        }),
        /boom/,
    );
    assert.throws(
        () =>
            trove.indexPath(vault, {
                onProgress: () => {
                    throw new Error('progress boom');
                },
            }),
        /progress boom/,
    );
});

test('errors: bad mode, bad arguments, missing path, use after close', async () => {
    // A mode number trove does not know: trove's own message via trove_last_error.
    assert.throws(
        () => trove.search('espresso', { mode: 7 }),
        (e) => isTroveError('TROVE_STATUS_INVALID_ARGUMENT')(e) && /mode 7/.test(e.message),
    );
    assert.throws(() => trove.search('espresso', { mode: 'fuzzy' }), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
    assert.throws(() => trove.search('espresso', { k: -1 }), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
    assert.throws(
        () => trove.addText({ id: '', title: 'empty id', text: 'text' }),
        isTroveError('TROVE_STATUS_INVALID_ARGUMENT'),
    );
    assert.throws(
        () => trove.addText({ id: 'x', title: 'bad metadata', text: 'text', metadata: [] }),
        isTroveError('TROVE_STATUS_INVALID_ARGUMENT'),
    );
    const nowhere = path.join(vault, 'nowhere');
    assert.throws(
        () => trove.indexPath(nowhere),
        (e) => isTroveError('TROVE_STATUS_NOT_FOUND')(e) && e.message.includes(nowhere),
    );
    // Async: the status is right; the message stayed on the worker thread.
    await assert.rejects(trove.indexPathAsync(nowhere), isTroveError('TROVE_STATUS_NOT_FOUND'));
    await assert.rejects(trove.askAsync('x', { mode: 7, maxTokens: 16, strategy: 'generative' }), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));

    const other = Trove.open({ library: LIB, modelsDir: MODELS, storeDir: path.join(vault, '.other-store'), threads: 1 });
    other.close();
    other.close(); // idempotent
    assert.throws(() => other.search('x'), isTroveError('TROVE_WRAPPER'));
    await assert.rejects(other.askAsync('x'), isTroveError('TROVE_WRAPPER'));
});

test('models: each hashed and checked; KV cache types and LoRA options reach the engine', async () => {
    const models = trove.models();
    assert.deepEqual(models.map((m) => m.role), ['embedding', 'answer']);
    const answer = models[1];
    assert.equal(answer.format, 'gguf');
    assert.equal(answer.quantization, 'Q4_1');
    assert.equal(answer.chatTemplate, 'chatml');
    assert.match(answer.sha256, /^[0-9a-f]{64}$/);
    assert.equal(answer.changed, false);

    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-kv-'));
    try {
        const q8 = Trove.open({ library: LIB, modelsDir: MODELS, storeDir: store, threads: THREADS, cacheTypeK: 'q8_0', cacheTypeV: 'q8_0', contextSize: 1024 });
        try {
            q8.addText({ id: 'n', title: 'Espresso', text: 'Brew espresso at 93 °C for 28 seconds.' });
            const a = await q8.askAsync('What temperature do I brew espresso at?', { strategy: 'generative', maxTokens: 16, minGrounding: 0 });
            assert.ok(a.text.length > 0);
        } finally {
            q8.close();
        }
        assert.throws(
            () => Trove.open({ library: LIB, modelsDir: MODELS, storeDir: store, cacheTypeK: 'q5' }),
            isTroveError('TROVE_STATUS_INVALID_ARGUMENT'),
        );
        // This libtrove has no GPU backend: gpuLayers reaches the engine,
        // which refuses it when the answer model loads, naming the fix.
        assert.deepEqual(Trove.gpuSupport(LIB), { backends: [], devices: [] });
        const gpu = Trove.open({ library: LIB, modelsDir: MODELS, storeDir: store, threads: THREADS, gpuLayers: 99 });
        try {
            assert.throws(
                () => gpu.ask('What temperature?', { strategy: 'generative', maxTokens: 8, minGrounding: 0 }),
                (e) => isTroveError('TROVE_STATUS_INVALID_ARGUMENT')(e) && /gpu_layers is 99.*`vulkan`/.test(e.message),
            );
        } finally {
            gpu.close();
        }
        const missing = Trove.open({ library: LIB, modelsDir: MODELS, storeDir: store, threads: THREADS, loraAdapters: [{ path: path.join(store, 'none.gguf') }] });
        try {
            assert.throws(() => missing.models(), isTroveError('TROVE_STATUS_NOT_FOUND'));
            assert.throws(
                () => missing.ask('What temperature?', { strategy: 'generative', maxTokens: 8, minGrounding: 0 }),
                (e) => isTroveError('TROVE_STATUS_NOT_FOUND')(e) && /LoRA adapter/.test(e.message),
            );
        } finally {
            missing.close();
        }
    } finally {
        fs.rmSync(store, { recursive: true, force: true });
    }
});

test('embedInBackground: keyword-searchable at once, vectors from the background thread', async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-bg-'));
    const bg = Trove.open({ library: LIB, modelsDir: MODELS, storeDir: store, threads: 1, embedInBackground: true });
    try {
        bg.pauseEmbedding();
        const summary = bg.addText({ id: 'host:kettle', text: 'The kettle descaler is citric acid, monthly.' });
        assert.equal(summary.chunksQueued, 1);
        assert.equal(summary.chunksPending, 1);
        const status = bg.embeddingStatus();
        assert.deepEqual([status.pending, status.paused], [1, true]);
        assert.equal(bg.documentStatus('host:kettle').state, 'pending_embedding');
        const hit = bg.search('kettle descaler', { k: 1 })[0];
        assert.deepEqual([hit.documentId, hit.embedded], ['host:kettle', false]);
        bg.setEmbeddingThreads(1);
        const seen = [];
        const done = await bg.finishEmbeddingAsync({ onProgress: (p) => seen.push(p.chunksEmbedded) });
        assert.deepEqual([done.chunksEmbedded, done.chunksPending, seen.at(-1)], [1, 0, 1]);
        assert.equal(bg.search('kettle descaler', { k: 1, mode: 'vector' })[0].embedded, true);
        assert.equal(bg.documentStatus('host:kettle').state, 'indexed');
        bg.resumeEmbedding();
        assert.equal(bg.embeddingStatus().paused, false);
    } finally {
        bg.close();
        fs.rmSync(store, { recursive: true, force: true });
    }
});

test('every script: CJK by one character, accents in either form, emoji, right-to-left; a multilingual store', () => {
    trove.addText({ id: 'host:ja', title: 'フェリー', text: 'フェリーは七時に港を出発します。' });
    trove.addText({ id: 'host:mixed', text: 'المكتبة 👨\u200d👩\u200d👧 cafe\u0301 opens at nine.' });
    assert.equal(trove.search('港', { k: 1, mode: 'keyword' })[0].documentId, 'host:ja');
    assert.equal(trove.search('café', { k: 1, mode: 'keyword' })[0].documentId, 'host:mixed');
    assert.equal(trove.search('المكتبة', { k: 1, mode: 'keyword' })[0].documentId, 'host:mixed');
    assert.throws(() => trove.search('。！', { mode: 'keyword' }), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
    assert.equal(trove.removeDocument('host:ja'), true);
    assert.equal(trove.removeDocument('host:mixed'), true);

    // A store on multilingual-e5-small finds a Japanese note from English.
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-e5-'));
    const e5 = Trove.open({
        library: LIB,
        modelsDir: MODELS,
        storeDir: store,
        threads: THREADS,
        embeddingPath: path.join(MODELS, 'multilingual-e5-small', 'multilingual-e5-small-q4_0.gguf'),
    });
    try {
        e5.addText({ id: 'ja', text: 'フェリーは七時に港を出発します。' });
        e5.addText({ id: 'de', text: 'Der Kuchen braucht 200 Gramm Zucker und drei Eier.' });
        assert.equal(e5.search('When does the ferry leave the harbour?', { k: 1, mode: 'vector' })[0].documentId, 'ja');
        assert.equal(e5.stats().embeddingModel.name, 'multilingual-e5-small');
    } finally {
        e5.close();
        fs.rmSync(store, { recursive: true, force: true });
    }
});

test('text with a length: bytes that are not NUL-terminated, NUL inside, invalid UTF-8', () => {
    // "tram Lisbon" followed by bytes that are not UTF-8 and no NUL: had
    // trove read past the length it would fail with INVALID_ARGUMENT.
    const raw = Buffer.concat([Buffer.from('tram Lisbon'), Buffer.from([0xff, 0xfe, 0xff, 0xfe])]);
    const query = raw.subarray(0, 'tram Lisbon'.length);
    const hits = trove.search(query, { k: 1, mode: 'keyword' });
    assert.equal(hits[0].path, path.join(vault, 'travel/lisbon.md'));
    // The same through a plain Uint8Array view at an offset.
    const padded = Buffer.concat([Buffer.from([0xff, 0xff]), raw]);
    const view = new Uint8Array(padded.buffer, padded.byteOffset + 2, 'tram Lisbon'.length);
    assert.equal(trove.search(view, { k: 1, mode: 'keyword' })[0].path, path.join(vault, 'travel/lisbon.md'));
    // The bytes themselves: invalid UTF-8 is trove's INVALID_ARGUMENT.
    assert.throws(
        () => trove.search(raw, { k: 1 }),
        (e) => isTroveError('TROVE_STATUS_INVALID_ARGUMENT')(e) && /query is not valid UTF-8/.test(e.message),
    );

    // A note given as byte views (none NUL-terminated) is added as it is.
    const bytes = Buffer.from('host:kettleXThe kettle descales with citric acid every month.YKettle care');
    const note = {
        id: bytes.subarray(0, 11),
        text: bytes.subarray(12, 61),
        title: bytes.subarray(62),
    };
    assert.ok(trove.addText(note).chunksEmbedded >= 1);
    const kettle = trove.search('descales citric acid', { k: 1, mode: 'keyword' });
    assert.equal(kettle[0].documentId, 'host:kettle');
    assert.equal(kettle[0].title, 'Kettle care');
    assert.equal(kettle[0].text.trim(), 'The kettle descales with citric acid every month.');
    assert.equal(trove.removeDocument(Buffer.from('host:kettle')), true);

    // A NUL inside text is text: what follows it is indexed, not cut off.
    trove.addText({ id: 'host:boiler', text: 'The boiler runs at 1.5 bar.\0 Its filter is changed in March.' });
    const boiler = trove.search('filter changed March', { k: 1, mode: 'keyword' });
    assert.equal(boiler[0].documentId, 'host:boiler');
    assert.match(boiler[0].text, /1\.5 bar\.\0 Its filter/);
    assert.equal(trove.removeDocument('host:boiler'), true);

    // A note whose text is invalid UTF-8 is refused and nothing is stored.
    const documents = trove.stats().documents;
    const badText = Buffer.from([0x43, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f, 0x69, 0x72]); // "Café noir" in Latin-1
    assert.throws(
        () => trove.addText({ id: 'host:latin1', title: 'Latin-1', text: badText }),
        (e) => isTroveError('TROVE_STATUS_INVALID_ARGUMENT')(e) && /note\.text is not valid UTF-8/.test(e.message),
    );
    assert.throws(
        () => trove.addText({ id: Buffer.from([0xc3]), text: 'an id cut inside a character' }),
        (e) => isTroveError('TROVE_STATUS_INVALID_ARGUMENT')(e) && /note\.id is not valid UTF-8/.test(e.message),
    );
    assert.equal(trove.stats().documents, documents);
    assert.equal(trove.removeDocument('host:latin1'), false);

    // Strings without a faithful form are refused by the wrapper, not altered.
    assert.throws(() => trove.search('espresso \ud800'), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
    assert.throws(() => trove.indexPath(`${vault}\0/etc`), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
    assert.throws(() => trove.search('espresso', { tags: ['a\0b'] }), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
    assert.throws(() => trove.search(42), isTroveError('TROVE_STATUS_INVALID_ARGUMENT'));
});

test(`leak check: ${LEAK_CALLS} searches, RSS growth below ${LEAK_BOUND_MB} MB`, () => {
    const queries = ['espresso temperature', 'sourdough starter', 'tomatoes basil', 'tram Lisbon', 'proof overnight'];
    const run = (n) => {
        for (let i = 0; i < n; i++) {
            const hits = trove.search(queries[i % queries.length], { k: 1, mode: 'keyword' });
            if (hits.length !== 1) throw new Error(`no hit for ${queries[i % queries.length]}`);
        }
    };
    // Without the shape check, so the numbers measure wrapper and library.
    observeJson(null);
    const warmUp = Math.min(5_000, LEAK_CALLS);
    run(warmUp);
    const rssBefore = rss();
    const countersBefore = ffiCounters().results;
    const started = performance.now();
    run(LEAK_CALLS);
    const seconds = (performance.now() - started) / 1000;
    const rssAfter = rss();
    observeJson(checkJson);
    const mb = (b) => (b / 1048576).toFixed(1);
    const growth = rssAfter - rssBefore;
    console.log(
        `  leak check: ${LEAK_CALLS} searches (keyword, k=1) after ${warmUp} warm-up in ${seconds.toFixed(1)} s ` +
            `(${Math.round(LEAK_CALLS / seconds)}/s); RSS ${mb(rssBefore)} MB -> ${mb(rssAfter)} MB, ` +
            `growth ${mb(growth)} MB (bound ${LEAK_BOUND_MB} MB)`,
    );
    const results = ffiCounters().results;
    assert.equal(results.created - countersBefore.created, LEAK_CALLS);
    assert.equal(results.freed, results.created, 'every results handle freed');
    assert.ok(growth < LEAK_BOUND_MB * 1048576, `RSS grew ${mb(growth)} MB`);
});

test(`every JSON text read from the library fits ${path.relative(REPO, SHAPES_FILE)}`, () => {
    console.log(`  JSON checked: ${JSON.stringify(jsonSeen)}`);
    assert.deepEqual(jsonMismatches, []);
    for (const [kind, n] of Object.entries(jsonSeen)) assert.ok(n > 0, `no ${kind} JSON was checked`);
});

test('every handle and registered callback was released', () => {
    const c = ffiCounters();
    assert.equal(c.results.freed, c.results.created);
    assert.equal(c.answers.freed, c.answers.created);
    assert.equal(c.tokens.freed, c.tokens.created);
    assert.equal(c.registeredCallbacks.unregistered, c.registeredCallbacks.registered);
    assert.equal(c.engines.opened - c.engines.closed, 1, 'only the shared engine is open');
    assert.ok(c.ownedStrings.freed >= 6, 'index summaries and stats were freed');
    console.log(`  ffi counters: ${JSON.stringify(c)}`);
});
