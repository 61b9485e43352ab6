/**
 * The console's build: Vite (Rolldown + Oxc) with Preact's JSX runtime, no Babel, no plugin. The output
 * is plain files in console/dist (index.html and content-hashed assets/), served by the api at `/` under
 * a strict CSP: so nothing may be inlined (no data: URLs, no inline script or module-preload polyfill).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    // Everything a file of its own: the CSP allows no data: URL and no inline script or style.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  server: {
    // `npx vite console` during development: the API on the local runner's port, same origin for the page.
    proxy: { '/v1': 'http://127.0.0.1:8080' },
  },
});
