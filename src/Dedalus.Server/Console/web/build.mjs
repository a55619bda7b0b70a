// Lays out the console's files for the server to embed: the pages and assets from src/, and xterm.js with its fit
// addon from node_modules (ES modules, the licence files beside them). No bundler: the browser loads the modules
// as they are, all from the server itself. Usage: node build.mjs OUTPUT-DIRECTORY
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node build.mjs OUTPUT-DIRECTORY');
  process.exit(2);
}

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
cpSync(join(here, 'src', 'pages'), join(out, 'pages'), { recursive: true });
cpSync(join(here, 'src', 'assets'), join(out, 'assets'), { recursive: true });

const vendor = [
  ['@xterm/xterm/lib/xterm.mjs', 'xterm.mjs'],
  ['@xterm/xterm/css/xterm.css', 'xterm.css'],
  ['@xterm/xterm/LICENSE', 'xterm.LICENSE.txt'],
  ['@xterm/addon-fit/lib/addon-fit.mjs', 'addon-fit.mjs'],
  ['@xterm/addon-fit/LICENSE', 'addon-fit.LICENSE.txt'],
];
for (const [from, to] of vendor) {
  cpSync(join(here, 'node_modules', from), join(out, 'assets', to));
}

writeFileSync(join(out, '.stamp'), new Date().toISOString() + '\n');
console.log(`console assets written to ${out}`);
