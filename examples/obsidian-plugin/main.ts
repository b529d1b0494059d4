/**
 * Trove for Obsidian: index the vault with libtrove and ask it questions,
 * with the answer streamed into a side view and its sources linked to notes.
 *
 * All FFI work is in trove.ts (compiled next to this file as trove.js).
 * Obsidian evaluates main.js without a module path of its own, so the
 * wrapper (and, through it, koffi) is required by absolute path from the
 * plugin folder; `import type` below is erased at compile time.
 */

import {
    App,
    FileSystemAdapter,
    ItemView,
    Notice,
    Plugin,
    PluginSettingTab,
    Setting,
    WorkspaceLeaf,
    normalizePath,
} from 'obsidian';
import * as path from 'path';
import type * as TroveModule from './trove';
import type { Answer, AnswerStrategy, CacheType, CancelToken, Conversation, Locator, Trove } from './trove';

const VIEW_TYPE = 'trove-answer';

interface TroveSettings {
    /** Absolute path of libtrove.so. */
    libraryPath: string;
    /** Models directory (the one `make setup` fills). */
    modelsDir: string;
    /** Store directory; empty: <vault>/.trove (hidden, so never indexed). */
    storeDir: string;
    /** Threads for embedding and generation; 0: all cores. */
    threads: number;
    /** Embed with multilingual-e5-small (notes in any language) instead of the English MiniLM. */
    multilingual: boolean;
    /** Another embedding model (ONNX folder or .gguf); empty: the toggle above decides. */
    embeddingPath: string;
    /** Another answer model (any GGUF chat model); empty: the bundled SmolLM2. */
    llmPath: string;
    /** Context window of the answer model in tokens; 0: 2048. */
    contextSize: number;
    /** KV cache precision of the answer model (keys and values). */
    kvCache: CacheType;
    /** A GGUF LoRA adapter on the answer model; empty: none. */
    loraPath: string;
    /** Its strength; 1: as trained. */
    loraScale: number;
    /** Layers of the answer model on a GPU; 0: none (CPU), 999: all. */
    gpuLayers: number;
    /** Passages given to the model. */
    k: number;
    /** Most tokens per answer. */
    maxTokens: number;
    /** extractive (quotes, no model), generative (the model writes) or quote. */
    strategy: AnswerStrategy;
}

const DEFAULT_SETTINGS: TroveSettings = {
    libraryPath: '/usr/local/lib/libtrove.so',
    modelsDir: '',
    storeDir: '',
    threads: 0,
    multilingual: false,
    embeddingPath: '',
    llmPath: '',
    contextSize: 0,
    kvCache: 'f16',
    loraPath: '',
    loraScale: 1,
    gpuLayers: 0,
    k: 3,
    maxTokens: 256,
    strategy: 'extractive',
};

export default class TrovePlugin extends Plugin {
    settings: TroveSettings = { ...DEFAULT_SETTINGS };
    private trove: Trove | null = null;
    private module: typeof TroveModule | null = null;
    /** Tokens of running calls, raised on unload. */
    private readonly running = new Set<CancelToken>();

    async onload(): Promise<void> {
        await this.loadSettings();
        this.registerView(VIEW_TYPE, (leaf) => new AnswerView(leaf, this));
        this.addCommand({ id: 'index-vault', name: 'Index vault', callback: () => void this.indexVault() });
        this.addCommand({ id: 'ask-vault', name: 'Ask your vault', callback: () => void this.openAnswerView() });
        this.addSettingTab(new TroveSettingTab(this.app, this));
    }

    onunload(): void {
        // Stop what runs; the engine closes once the last call has returned
        // (trove_engine_close must not race with other calls).
        for (const token of this.running) token.cancel();
        this.closeWhenIdle();
    }

    async loadSettings(): Promise<void> {
        this.settings = { ...DEFAULT_SETTINGS, ...((await this.loadData()) as Partial<TroveSettings> | null) };
    }

    async saveSettings(): Promise<void> {
        await this.saveData(this.settings);
        this.closeWhenIdle(); // reopened with the new settings on next use
    }

    private closeWhenIdle(): void {
        const trove = this.trove;
        this.trove = null;
        if (!trove) return;
        const tryClose = () => {
            try {
                trove.close();
            } catch {
                window.setTimeout(tryClose, 200); // an async call is still winding down
            }
        };
        tryClose();
    }

    /** The vault's folder on disk (desktop only). */
    vaultPath(): string {
        const adapter = this.app.vault.adapter;
        if (!(adapter instanceof FileSystemAdapter)) throw new Error('Trove needs the desktop app (a vault on disk).');
        return adapter.getBasePath();
    }

    /** The wrapper module, required from the plugin folder. */
    wrapper(): typeof TroveModule {
        if (!this.module) {
            const dir = path.join(this.vaultPath(), this.manifest.dir ?? `.obsidian/plugins/${this.manifest.id}`);
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            this.module = require(path.join(dir, 'trove.js')) as typeof TroveModule;
        }
        return this.module;
    }

    /** The open engine (opened on first use). */
    engine(): Trove {
        if (!this.trove) {
            const s = this.settings;
            if (!s.modelsDir) throw new Error('Set the models folder in the Trove settings first.');
            this.trove = this.wrapper().Trove.open({
                library: s.libraryPath,
                modelsDir: s.modelsDir,
                storeDir: s.storeDir || path.join(this.vaultPath(), '.trove'),
                threads: s.threads,
                embeddingPath:
                    s.embeddingPath ||
                    (s.multilingual ? path.join(s.modelsDir, 'multilingual-e5-small', 'multilingual-e5-small-q4_0.gguf') : undefined),
                llmPath: s.llmPath || undefined,
                contextSize: s.contextSize,
                cacheTypeK: s.kvCache,
                cacheTypeV: s.kvCache,
                loraAdapters: s.loraPath ? [{ path: s.loraPath, scale: s.loraScale }] : undefined,
                gpuLayers: s.gpuLayers,
                // Switching the model above re-embeds the vault once.
                reembed: true,
                // Notes are keyword-searchable as soon as they are read; the
                // engine embeds them in the background.
                embedInBackground: true,
            });
        }
        return this.trove;
    }

    /** A fresh cancel token, raised on unload; release with `done`. */
    newToken(): CancelToken {
        const token = new (this.wrapper().CancelToken)(this.engine());
        this.running.add(token);
        return token;
    }

    done(token: CancelToken): void {
        this.running.delete(token);
        token.free();
    }

    /** A fresh conversation on the open engine; free it when done. */
    newConversation(): Conversation {
        return new (this.wrapper().Conversation)(this.engine());
    }

    async indexVault(): Promise<void> {
        const notice = new Notice('Trove: indexing…', 0);
        let token: CancelToken | null = null;
        try {
            const trove = this.engine();
            token = this.newToken();
            const summary = await trove.indexPathAsync(this.vaultPath(), {
                cancel: token,
                onProgress: (p) => {
                    notice.setMessage(`Trove: reading ${p.filesDone}/${p.filesTotal} files`);
                },
            });
            const pending = summary.chunksPending > 0 ? `; embedding ${summary.chunksPending} passages in the background` : '';
            notice.setMessage(
                `Trove: ${summary.filesIndexed} indexed, ${summary.filesUnchanged} unchanged, ` +
                    `${summary.filesRemoved} removed, ${summary.filesFailed} failed (${summary.seconds.toFixed(1)} s)` +
                    pending,
            );
        } catch (e) {
            notice.setMessage(`Trove: indexing failed: ${(e as Error).message}`);
        } finally {
            if (token) this.done(token);
            window.setTimeout(() => notice.hide(), 8000);
        }
    }

    async openAnswerView(): Promise<void> {
        const { workspace } = this.app;
        let leaf: WorkspaceLeaf | null = workspace.getLeavesOfType(VIEW_TYPE)[0] ?? null;
        if (!leaf) {
            leaf = workspace.getRightLeaf(false);
            if (!leaf) return;
            await leaf.setViewState({ type: VIEW_TYPE, active: true });
        }
        await workspace.revealLeaf(leaf);
        if (leaf.view instanceof AnswerView) leaf.view.focus();
    }
}

/** The side view: a question box, the streamed answer, numbered sources,
 * Stop, and New chat. Questions in one view are one conversation, so a
 * follow-up ("And for the Ethiopian roast?") is understood. */
class AnswerView extends ItemView {
    private input!: HTMLTextAreaElement;
    private askButton!: HTMLButtonElement;
    private stopButton!: HTMLButtonElement;
    private answerEl!: HTMLElement;
    private sourcesEl!: HTMLElement;
    private token: CancelToken | null = null;
    private conversation: Conversation | null = null;

    constructor(
        leaf: WorkspaceLeaf,
        private readonly plugin: TrovePlugin,
    ) {
        super(leaf);
    }

    getViewType(): string {
        return VIEW_TYPE;
    }

    getDisplayText(): string {
        return 'Ask your vault';
    }

    getIcon(): string {
        return 'message-circle-question';
    }

    async onOpen(): Promise<void> {
        const root = this.contentEl;
        root.empty();
        this.input = root.createEl('textarea', { attr: { rows: '3', placeholder: 'Ask your vault…' } });
        this.input.style.width = '100%';
        this.input.addEventListener('keydown', (ev) => {
            if (ev.key === 'Enter' && !ev.shiftKey) {
                ev.preventDefault();
                void this.ask();
            }
        });
        const buttons = root.createDiv();
        this.askButton = buttons.createEl('button', { text: 'Ask', cls: 'mod-cta' });
        this.askButton.addEventListener('click', () => void this.ask());
        this.stopButton = buttons.createEl('button', { text: 'Stop' });
        this.stopButton.disabled = true;
        // Runs on the UI (JS) thread while trove generates on a worker thread.
        this.stopButton.addEventListener('click', () => this.token?.cancel());
        const newChat = buttons.createEl('button', { text: 'New chat' });
        newChat.addEventListener('click', () => this.newChat());
        this.answerEl = root.createDiv({ cls: 'trove-answer' });
        this.answerEl.style.whiteSpace = 'pre-wrap';
        this.sourcesEl = root.createEl('ol', { cls: 'trove-sources' });
    }

    async onClose(): Promise<void> {
        this.token?.cancel();
        this.conversation?.free();
        this.conversation = null;
    }

    /** Forgets the conversation: the next question stands on its own. */
    private newChat(): void {
        this.conversation?.free();
        this.conversation = null;
        this.answerEl.setText('');
        this.sourcesEl.empty();
    }

    focus(): void {
        this.input?.focus();
    }

    private async ask(): Promise<void> {
        const question = this.input.value.trim();
        if (!question || this.token) return;
        this.answerEl.setText('');
        this.sourcesEl.empty();
        this.askButton.disabled = true;
        this.stopButton.disabled = false;
        let token: CancelToken | null = null;
        try {
            const trove = this.plugin.engine();
            token = this.token = this.plugin.newToken();
            this.conversation ??= this.plugin.newConversation();
            const answer = await trove.askAsync(question, {
                conversation: this.conversation,
                k: this.plugin.settings.k,
                maxTokens: this.plugin.settings.maxTokens,
                strategy: this.plugin.settings.strategy,
                cancel: token,
                onToken: (piece) => {
                    this.answerEl.appendText(piece);
                },
            });
            this.answerEl.setText(answer.text);
            this.showSources(answer);
        } catch (e) {
            const err = e as Error & { status?: string };
            const stopped = err.status === 'TROVE_STATUS_CANCELLED';
            this.answerEl.appendText(stopped ? '\n\n(stopped)' : `\n\nTrove: ${err.message}`);
        } finally {
            if (token) this.plugin.done(token);
            this.token = null;
            this.askButton.disabled = false;
            this.stopButton.disabled = true;
        }
    }

    /** Numbered sources ([n] as in the answer) as links to the notes; for a
     * declined answer, the closest notes; a note on unsupported sentences. */
    private showSources(answer: Answer): void {
        const vault = this.plugin.vaultPath();
        const unsupported = answer.sentences.filter((s) => s.support === null).length;
        if (unsupported > 0) {
            this.answerEl.createDiv({ text: `${unsupported} sentence(s) no source supports`, cls: 'mod-warning' });
        }
        const sources = answer.declined
            ? answer.passages.map((hit, i) => ({ ...hit, n: i + 1, inferred: false }))
            : answer.citations;
        for (const c of sources) {
            const li = this.sourcesEl.createEl('li', { attr: { value: String(c.n) } });
            const rel = c.path ? path.relative(vault, c.path) : null;
            if (rel && !rel.startsWith('..')) {
                const link = normalizePath(rel);
                const a = li.createEl('a', { text: c.title || link, cls: 'internal-link', href: link });
                a.addEventListener('click', (ev) => {
                    ev.preventDefault();
                    void this.app.workspace.openLinkText(link, '', false);
                });
            } else {
                li.createSpan({ text: c.title || c.documentId });
            }
            if (c.lines) li.createSpan({ text: ` (lines ${c.lines[0]}–${c.lines[1]})` });
            else if (c.page) li.createSpan({ text: ` (page ${c.page})` });
            else if (c.locator) li.createSpan({ text: ` (${placeOf(c.locator)})` });
            if (c.inferred) li.createSpan({ text: ' (inferred)', cls: 'mod-muted' });
        }
    }
}

class TroveSettingTab extends PluginSettingTab {
    constructor(
        app: App,
        private readonly plugin: TrovePlugin,
    ) {
        super(app, plugin);
    }

    display(): void {
        const { containerEl } = this;
        containerEl.empty();
        const s = this.plugin.settings;
        const text = (
            name: string,
            desc: string,
            key: 'libraryPath' | 'modelsDir' | 'storeDir' | 'embeddingPath' | 'llmPath' | 'loraPath',
            placeholder = '',
        ) =>
            new Setting(containerEl)
                .setName(name)
                .setDesc(desc)
                .addText((t) =>
                    t
                        .setPlaceholder(placeholder)
                        .setValue(s[key])
                        .onChange(async (v) => {
                            s[key] = v.trim();
                            await this.plugin.saveSettings();
                        }),
                );
        const num = (name: string, desc: string, key: 'threads' | 'k' | 'maxTokens' | 'contextSize' | 'gpuLayers') =>
            new Setting(containerEl)
                .setName(name)
                .setDesc(desc)
                .addText((t) =>
                    t.setValue(String(s[key])).onChange(async (v) => {
                        const n = Number.parseInt(v, 10);
                        if (Number.isInteger(n) && n >= 0) {
                            s[key] = n;
                            await this.plugin.saveSettings();
                        }
                    }),
                );
        text('Library', 'Absolute path of libtrove.so.', 'libraryPath');
        text('Models folder', 'The models folder made by `make setup`.', 'modelsDir');
        text('Store folder', 'Where the index lives; empty: <vault>/.trove.', 'storeDir', '<vault>/.trove');
        num('Threads', 'For embedding and generation; 0: all cores.', 'threads');
        new Setting(containerEl)
            .setName('Multilingual')
            .setDesc('Embed with multilingual-e5-small, for notes in any language (slower to index). Changing it re-embeds the vault on next use.')
            .addToggle((t) =>
                t.setValue(s.multilingual).onChange(async (v) => {
                    s.multilingual = v;
                    await this.plugin.saveSettings();
                }),
            );
        text('Embedding model', 'Another embedding model: an ONNX model folder or a .gguf file (re-embeds the vault); empty: the toggle above.', 'embeddingPath');
        text('Answer model', 'Another answer model: any GGUF chat model llama.cpp runs; empty: the bundled SmolLM2.', 'llmPath');
        num('Context', 'Context window of the answer model in tokens; 0: 2048.', 'contextSize');
        new Setting(containerEl)
            .setName('KV cache')
            .setDesc('How the answer model caches its context: q8_0 takes about half the memory of f16, q4_0 a quarter.')
            .addDropdown((d) =>
                d
                    .addOptions({ f16: 'f16', q8_0: 'q8_0', q4_0: 'q4_0' })
                    .setValue(s.kvCache)
                    .onChange(async (v) => {
                        s.kvCache = v as CacheType;
                        await this.plugin.saveSettings();
                    }),
            );
        text('LoRA adapter', 'A GGUF LoRA adapter made for the answer model; empty: none.', 'loraPath');
        new Setting(containerEl)
            .setName('LoRA scale')
            .setDesc('How strongly the adapter applies; 1: as trained.')
            .addText((t) =>
                t.setValue(String(s.loraScale)).onChange(async (v) => {
                    const x = Number.parseFloat(v);
                    if (Number.isFinite(x)) {
                        s.loraScale = x;
                        await this.plugin.saveSettings();
                    }
                }),
            );
        num('GPU layers', 'Layers of the answer model offloaded to a GPU (needs a libtrove built with Vulkan, Metal or CUDA); 0: none, 999: all.', 'gpuLayers');
        num('Passages', 'Passages given to the model per question.', 'k');
        num('Max tokens', 'Longest answer, in tokens.', 'maxTokens');
        new Setting(containerEl)
            .setName('Answers')
            .setDesc('Quotes: the best sentences of your notes, instant and exact. Written: the model writes an answer, trove checks every citation.')
            .addDropdown((d) =>
                d
                    .addOptions({ extractive: 'Quotes', generative: 'Written by the model', quote: 'Quote chosen by the model' })
                    .setValue(s.strategy)
                    .onChange(async (v) => {
                        s.strategy = v as AnswerStrategy;
                        await this.plugin.saveSettings();
                    }),
            );
    }
}

/** "chapter 3, ¶ 12–14", as the library's locator reads in every surface. */
function placeOf(l: Locator): string {
    const paragraphs = l.firstParagraph === l.lastParagraph ? `¶ ${l.firstParagraph}` : `¶ ${l.firstParagraph}–${l.lastParagraph}`;
    return l.chapter ? `chapter ${l.chapter}, ${paragraphs}` : paragraphs;
}
