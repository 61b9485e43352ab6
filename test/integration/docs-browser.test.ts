/**
 * /docs renders in a real browser (the machine's Chromium, headless): every operation of the document
 * is shown, every request the page makes goes to the api's own origin and succeeds, and the page's
 * Content-Security-Policy refuses nothing it needs (a violation would show as a console error).
 */
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appWithBroker } from '../helpers/app-with-broker.ts';

let app: FastifyInstance;
let origin: string;
let browser: Browser;

beforeAll(async () => {
  ({ app } = await appWithBroker({ call: async () => ({ ok: true, value: null }) as never }));
  origin = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('/docs in a browser', () => {
  it('renders every operation from assets of this origin, with no CSP violation', async () => {
    const page = await browser.newPage();
    const requests: string[] = [];
    const failures: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    page.on('response', (response) => {
      if (response.status() >= 400) failures.push(`${response.status()} ${response.url()}`);
    });
    page.on('requestfailed', (request) => failures.push(`failed ${request.url()}`));
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(`${origin}/docs`, { waitUntil: 'networkidle' });
    await page.waitForSelector('.opblock', { timeout: 20_000 });
    const operations = await page.locator('.opblock').count();
    const document = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: object };
    const documented = Object.values(document.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
    expect(operations).toBe(documented);
    expect(await page.locator('.info .title').textContent()).toContain('podstore');
    // Opened, an operation shows its parameters and its responses (examples and schemas render too).
    await page.locator('#operations-files-putFile .opblock-summary').click();
    await page.waitForSelector('#operations-files-putFile .responses-table', { timeout: 10_000 });
    const opened = await page.locator('#operations-files-putFile').textContent();
    expect(opened).toContain('if-match');
    expect(opened).toContain('507');
    // The shared Problem schema, with its codes.
    const problem = page.locator('section.models article[data-json-schema-level="0"]', {
      hasText: 'Problem',
    });
    await problem.locator('.json-schema-2020-12-expand-deep-button').click();
    await expect.poll(() => problem.textContent()).toContain('uri_too_long');
    expect(requests.filter((url) => !url.startsWith(`${origin}/`) && !url.startsWith('data:'))).toEqual([]);
    expect(failures).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 60_000);
});
