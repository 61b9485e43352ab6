#!/usr/bin/env node
/**
 * The `podstore` command (package.json "bin"). Runs on plain Node: it loads the CLI compiled to
 * dist/client/ by `npm run build:cli`, which `npm install` runs through the `prepare` script. Nothing
 * here needs TypeScript or a loader at run time.
 */
import { existsSync } from 'node:fs';

const main = new URL('../dist/client/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'podstore: the command is not built yet: run `npm run build:cli` (npm install does it)\n',
  );
  process.exit(1);
}
await import(main.href);
