/**
 * Vitest global setup of the browser tests: builds the web console (console/ into console/dist) from the
 * sources as they are, so the api the tests start serves what is being tested; and checks that the
 * machine's Chromium is there (deploy/chromium.sh installs it), failing the run with how to get it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default async function buildConsole(): Promise<void> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: run bash deploy/chromium.sh (or set CHROMIUM_PATH)`);
  await build({
    configFile: fileURLToPath(new URL('../../console/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
  });
}
