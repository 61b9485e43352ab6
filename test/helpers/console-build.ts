/**
 * Vitest global setup of the browser tests: builds the web console (console/ into console/dist) from the
 * sources as they are, so the api the tests start serves what is being tested; and makes sure the
 * machine's Chromium is there: deploy/chromium.sh installs it once when missing (as deploy/provision.sh
 * does MinIO for the integration tests), so `npm test` needs no step of its own.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'vite';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default async function buildConsole(): Promise<void> {
  if (!existsSync(CHROMIUM)) {
    const script = fileURLToPath(new URL('../../deploy/chromium.sh', import.meta.url));
    await promisify(execFile)('bash', [script], { timeout: 15 * 60_000 }).catch((error: Error) => {
      throw new Error(
        `no Chromium at ${CHROMIUM}, and deploy/chromium.sh could not install it: ${error.message}`,
      );
    });
  }
  await build({
    configFile: fileURLToPath(new URL('../../console/vite.config.ts', import.meta.url)),
    logLevel: 'warn',
  });
}
