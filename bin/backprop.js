#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist/src/cli/main.js');
if (!existsSync(entry)) {
  console.error('backprop: not built yet. Run `npm run build` (or `npm install`, which builds) first.');
  process.exit(1);
}
const { main } = await import(entry);
await main(process.argv.slice(2));
