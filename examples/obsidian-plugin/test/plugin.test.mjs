// Loads the compiled plugin (build/main.js) with a stub of the `obsidian`
// module (Obsidian itself is not available here) and runs its "Index vault"
// command against a temporary vault with the real library: settings, the
// wrapper required from the plugin folder, progress Notices, and closing
// the engine on unload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import Module from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const require = createRequire(import.meta.url);
const LIB = process.env.TROVE_LIB;
const MODELS = process.env.TROVE_MODELS;
if (!LIB || !MODELS) throw new Error('set TROVE_LIB (libtrove.so) and TROVE_MODELS (models folder)');

const notices = [];
class FileSystemAdapter {
    constructor(base) {
        this.base = base;
    }
    getBasePath() {
        return this.base;
    }
}
const stub = {
    App: class {},
    FileSystemAdapter,
    ItemView: class {},
    WorkspaceLeaf: class {},
    PluginSettingTab: class {},
    Setting: class {},
    normalizePath: (p) => p,
    Notice: class {
        constructor(message) {
            notices.push(message);
        }
        setMessage(message) {
            notices.push(message);
            return this;
        }
        hide() {}
    },
    Plugin: class {
        constructor(app, manifest) {
            this.app = app;
            this.manifest = manifest;
            this.commands = [];
            this.views = [];
        }
        async loadData() {
            return this.data ?? null;
        }
        async saveData(data) {
            this.data = data;
        }
        addCommand(c) {
            this.commands.push(c);
        }
        registerView(type) {
            this.views.push(type);
        }
        addSettingTab() {}
    },
};

test('plugin: "Index vault" indexes through the wrapper with progress notices', async () => {
    const vault = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-plugin-vault-'));
    fs.writeFileSync(path.join(vault, 'espresso.md'), '# Espresso\n\nBrew at 93 °C with an 18 g dose.\n');
    fs.writeFileSync(path.join(vault, 'bread.md'), '# Bread\n\nBake the sourdough at 240 °C for 45 minutes.\n');
    const load = Module._load;
    Module._load = function (request, ...rest) {
        return request === 'obsidian' ? stub : load.call(this, request, ...rest);
    };
    globalThis.window = {
        setTimeout: (f, ms) => {
            const t = setTimeout(f, ms);
            t.unref();
            return t;
        },
    };
    try {
        const TrovePlugin = require('../build/main.js').default;
        const buildDir = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'build');
        const plugin = new TrovePlugin(
            { vault: { adapter: new FileSystemAdapter(vault) } },
            // The plugin folder, relative to the vault, holds trove.js.
            { id: 'trove', dir: path.relative(vault, buildDir) },
        );
        plugin.data = { libraryPath: LIB, modelsDir: MODELS, threads: 1 };
        await plugin.onload();
        assert.deepEqual(
            plugin.commands.map((c) => c.name),
            ['Index vault', 'Ask your vault'],
        );
        assert.deepEqual(plugin.views, ['trove-answer']);

        await plugin.indexVault();
        console.log(`  notices: ${JSON.stringify(notices)}`);
        assert.match(notices[0], /indexing/);
        assert.ok(notices.some((n) => /reading 2\/2 files/.test(n)), 'progress notices');
        assert.match(notices.at(-1), /2 indexed, 0 unchanged, 0 removed, 0 failed/);
        assert.ok(fs.existsSync(path.join(vault, '.trove')), 'default store <vault>/.trove');

        const hits = plugin.engine().search('sourdough oven temperature', { k: 1 });
        assert.equal(hits[0].path, path.join(vault, 'bread.md'));
        plugin.onunload(); // closes the engine (nothing is running)
        const { ffiCounters } = require(path.join(buildDir, 'trove.js'));
        const c = ffiCounters();
        assert.equal(c.engines.opened, c.engines.closed);
        assert.equal(c.tokens.created, c.tokens.freed);
    } finally {
        Module._load = load;
        delete globalThis.window;
        fs.rmSync(vault, { recursive: true, force: true });
    }
});
