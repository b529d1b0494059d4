// Lays out the plugin folder Obsidian loads: dist/trove/{manifest.json,
// main.js, trove.js, node_modules/koffi, node_modules/@koromix/koffi-<os>-<arch>}.
//
//   npm run build && node dist.mjs [VAULT]
//
// With VAULT, the folder is also copied to VAULT/.obsidian/plugins/trove.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const manifest = JSON.parse(fs.readFileSync(path.join(here, 'manifest.json'), 'utf8'));
const out = path.join(here, 'dist', manifest.id);

for (const f of ['build/main.js', 'build/trove.js']) {
    if (!fs.existsSync(path.join(here, f))) throw new Error(`${f} missing: run npm run build first`);
}
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
fs.copyFileSync(path.join(here, 'manifest.json'), path.join(out, 'manifest.json'));
fs.copyFileSync(path.join(here, 'build/main.js'), path.join(out, 'main.js'));
fs.copyFileSync(path.join(here, 'build/trove.js'), path.join(out, 'trove.js'));
// koffi and its native package for this platform (the ones npm ci installed).
fs.cpSync(path.join(here, 'node_modules/koffi'), path.join(out, 'node_modules/koffi'), { recursive: true });
const scope = path.join(here, 'node_modules/@koromix');
for (const pkg of fs.existsSync(scope) ? fs.readdirSync(scope) : []) {
    fs.cpSync(path.join(scope, pkg), path.join(out, 'node_modules/@koromix', pkg), { recursive: true });
}
console.log(`plugin folder: ${out}`);

const vault = process.argv[2];
if (vault) {
    const target = path.join(vault, '.obsidian', 'plugins', manifest.id);
    fs.rmSync(target, { recursive: true, force: true });
    fs.cpSync(out, target, { recursive: true });
    console.log(`installed into ${target}: enable "Trove" under Settings > Community plugins`);
}
