/**
 * The web console's walk in headless Chromium (playwright-core), against a running podstore at `origin`
 * (a test stack, or compose through nginx): a patient signs up, drops 3 files, browses them, sends a
 * 20 MiB one resumably (tus, a PATCH cut half-way, a cancel), grants a
 * hospital append on /medical/; the hospital, in a second browser context (a phone-sized one), adds a
 * result; the patient sees it appear live and sealed, the audit log shows the grant and the hospital's
 * write, the patient revokes (the hospital's next upload is refused) and signs out. A screenshot of
 * each step goes to `screenshots`. Throughout: the page has no inline script, sends its CSP, and makes
 * no request to another origin (each is recorded and refused).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import {
  type Browser,
  type BrowserContext,
  chromium,
  type Dialog,
  type Page,
  type Request,
  type Route,
} from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CHROMIUM } from '../helpers/console-build.ts';
import { makeImage, makePdf } from '../helpers/processing-fixtures.ts';
import type { ConsoleWalkOptions, ConsoleWalkRecord } from './console-walk-options.ts';

/** How long a step waits for the page to show what it expects (a busy machine, a proxy in between). */
const POLL = { timeout: 20_000 };

/** A 2x2 red PNG. */
const PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==';

/** Registers the walk's steps (in order) in the calling describe block. */
export function consoleWalk(options: ConsoleWalkOptions): ConsoleWalkRecord {
  const record: ConsoleWalkRecord = { tokens: [] };
  const P = options.patient;
  const H = options.hospital;
  const R = options.reader;
  const SHOTS = options.screenshots;
  let browser: Browser;
  let origin: string;
  /** Every request any page made, and those that went (or tried to go) elsewhere than the console's origin. */
  const requested: string[] = [];
  const foreign: string[] = [];
  let patient: Page;
  let hospital: Page;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    origin = new URL(options.origin()).origin;
    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-background-networking'],
    });
  });

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
  });

  async function newContext(viewport: { width: number; height: number }): Promise<BrowserContext> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    // Every request passes here: one to another origin is recorded and refused.
    await context.route('**/*', (route) => {
      const url = route.request().url();
      requested.push(url);
      if (new URL(url).origin !== origin && !url.startsWith('blob:')) {
        foreign.push(url);
        return route.abort();
      }
      return route.continue();
    });
    context.on('request', (request) => {
      const url = request.url();
      if (!url.startsWith(origin) && !url.startsWith('blob:') && !foreign.includes(url)) foreign.push(url);
    });
    return context;
  }

  async function shot(page: Page, name: string): Promise<void> {
    await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true });
  }

  async function dropFiles(
    page: Page,
    files: { name: string; type: string; base64: string }[],
  ): Promise<void> {
    const dataTransfer = await page.evaluateHandle((list) => {
      const transfer = new DataTransfer();
      for (const f of list) {
        const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
        transfer.items.add(new File([bytes], f.name, { type: f.type }));
      }
      return transfer;
    }, files);
    await page.dispatchEvent('[data-testid=drop-zone]', 'dragover', { dataTransfer });
    await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer });
  }

  /** Drops a file of `bytes` (made here), sent to the page in parts rather than as one huge argument. */
  async function dropBytes(page: Page, name: string, type: string, bytes: Buffer): Promise<void> {
    type Parts = { droppedParts: Uint8Array[] };
    await page.evaluate(() => {
      (window as unknown as Parts).droppedParts = [];
    });
    const PART = 3 << 20;
    for (let at = 0; at < bytes.length; at += PART)
      await page.evaluate(
        (base64) => {
          const part = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
          (window as unknown as Parts).droppedParts.push(part);
        },
        bytes.subarray(at, at + PART).toString('base64'),
      );
    const dataTransfer = await page.evaluateHandle(
      (file) => {
        const transfer = new DataTransfer();
        const parts = (window as unknown as Parts).droppedParts;
        transfer.items.add(new File(parts as BlobPart[], file.name, { type: file.type }));
        (window as unknown as Partial<Parts>).droppedParts = undefined;
        return transfer;
      },
      { name, type },
    );
    await page.dispatchEvent('[data-testid=drop-zone]', 'dragover', { dataTransfer });
    await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer });
  }

  /**
   * Plays a connection that drops in the middle of a tus PATCH: sends the server the PATCH `request`
   * would have sent (its headers, the bytes from its Upload-Offset), but only half of those bytes, then
   * drops the connection. The server keeps what arrived; resolves once its offset stops moving.
   */
  async function cutPatch(request: Request, bytes: Buffer): Promise<number> {
    const headers = await request.allHeaders();
    const offset = Number(headers['upload-offset']);
    const rest = bytes.length - offset;
    const url = new URL(request.url());
    await new Promise<void>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const patch = send(url, {
        method: 'PATCH',
        headers: {
          authorization: headers.authorization ?? '',
          'tus-resumable': headers['tus-resumable'] ?? '1.0.0',
          'upload-offset': String(offset),
          'content-type': 'application/offset+octet-stream',
          'content-length': String(rest),
        },
      });
      patch.on('error', () => resolve()); // the drop itself
      patch.on('response', (res) => {
        res.resume();
        reject(new Error(`a PATCH cut in the middle was answered ${res.statusCode}`));
      });
      patch.write(bytes.subarray(offset, offset + Math.floor(rest / 2)), () =>
        setTimeout(() => {
          patch.destroy();
          resolve();
        }, 300),
      );
    });
    let kept = -1;
    await expect
      .poll(
        async () => {
          const res = await fetch(url, {
            method: 'HEAD',
            headers: { authorization: headers.authorization ?? '', 'tus-resumable': '1.0.0' },
          });
          const now = Number(res.headers.get('upload-offset'));
          const stable = now === kept;
          kept = now;
          return stable;
        },
        { ...POLL, interval: 300 },
      )
      .toBe(true);
    return kept;
  }

  /** Records, for each upload's progress bar, every value it shows while the uploads run. */
  async function watchProgress(page: Page): Promise<void> {
    await page.evaluate(() => {
      const seen: Record<string, number[]> = {};
      (window as unknown as { progressSeen: typeof seen }).progressSeen = seen;
      const tick = () => {
        for (const bar of document.querySelectorAll('progress')) {
          const name = bar.getAttribute('aria-label') ?? '';
          const values = seen[name] ?? [];
          if (values.at(-1) !== bar.value) values.push(bar.value);
          seen[name] = values;
          seen[`${name} max`] = [bar.max];
        }
        requestAnimationFrame(tick);
      };
      tick();
    });
  }

  const text = (s: string) => Buffer.from(s).toString('base64');

  /** Searches the pod on screen for `q`; the paths of the results, best first (none: []). */
  async function search(page: Page, q: string): Promise<string[]> {
    const box = page.getByTestId('search');
    const clear = box.getByRole('button', { name: 'Clear results' });
    if ((await clear.count()) > 0) await clear.click();
    await box.getByLabel('Search this pod').fill(q);
    await box.getByRole('button', { name: 'Search', exact: true }).click();
    await box
      .locator('[data-testid=search-results], [data-testid=search-empty], [role=alert]')
      .first()
      .waitFor(POLL);
    return box
      .locator('[data-testid=search-results] li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('data-path') ?? ''));
  }

  /** Whether the page can still load `url` as an image (a revoked blob: URL cannot). */
  const imageLoads = (page: Page, url: string) =>
    page.evaluate(
      (u) =>
        new Promise<boolean>((resolve) => {
          const img = new Image();
          img.onload = () => resolve(true);
          img.onerror = () => resolve(false);
          img.src = u;
        }),
      url,
    );

  it('serves a page with its CSP and without inline script', async () => {
    patient = await (await newContext({ width: 1280, height: 900 })).newPage();
    const response = await patient.goto(`${origin}/`);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("connect-src 'self'");
    // Previews are shown from blob: URLs the page makes; no other image source is allowed.
    expect(csp).toMatch(/img-src 'self' blob:(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(response?.headers()['x-content-type-options']).toBe('nosniff');
    const html = (await response?.text()) ?? '';
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(await patient.$$eval('script', (scripts) => scripts.filter((s) => !s.src).length)).toBe(0);
    await expect(patient.getByRole('heading', { name: 'Create an account' }).isVisible()).resolves.toBe(true);
  });

  it('is reachable by keyboard: a skip link, then the sign-in fields in order', async () => {
    const focused = () =>
      patient.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        return el?.getAttribute('name') ?? el?.textContent ?? '';
      });
    await patient.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');
    await patient.keyboard.press('Tab');
    expect(await focused()).toBe('username');
    await patient.keyboard.press('Tab');
    expect(await focused()).toBe('token');
  });

  it('refuses a wrong token with the API’s own explanation and its request id', async () => {
    await patient.getByLabel('Username', { exact: true }).first().fill(P);
    await patient.getByLabel('Token').fill('pst_not-a-real-token');
    await patient.getByRole('button', { name: 'Sign in' }).click();
    const alert = patient.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/token.*request id: [\w-]+/i);
    expect(await patient.getByTestId('signed-in-as').count()).toBe(0);
  });

  it('signs the patient up and in, the token shown once', async () => {
    await patient.getByLabel('Username', { exact: true }).nth(1).fill(P);
    await patient.getByLabel('Display name (optional)').fill('Pat Ient');
    await patient.getByRole('button', { name: 'Create account' }).click();
    const token = await patient.getByTestId('new-account-token').inputValue();
    record.tokens.push(token);
    expect(token).toMatch(/^pst_/);
    await shot(patient, '01-sign-up');
    await patient.getByRole('button', { name: 'Continue to my pod' }).click();
    await patient.getByTestId('signed-in-as').waitFor();
    expect(await patient.getByTestId('signed-in-as').textContent()).toBe(P);
    // The token is nowhere in the URL.
    expect(patient.url()).toBe(`${origin}/`);
  });

  it('uploads 3 files by drag and drop into a new folder, each with its progress bar', async () => {
    await patient.getByLabel(/^New folder/).fill('medical');
    await patient.getByRole('button', { name: 'Open new folder' }).click();
    await patient.getByText('This folder is empty').waitFor();
    await watchProgress(patient);
    const files = [
      { name: 'notes.txt', type: 'text/plain', base64: text('Allergies: penicillin.\nBlood type: O+') },
      { name: 'xray.png', type: 'image/png', base64: PNG_BASE64 },
      {
        name: 'scan.bin',
        type: 'application/octet-stream',
        base64: Buffer.alloc(3 << 20, 'x').toString('base64'),
      },
    ];
    await dropFiles(patient, files);
    const uploads = patient.getByRole('list', { name: 'Uploads' });
    await expect
      .poll(async () => uploads.locator('li[data-state=done]').count(), { timeout: 30_000 })
      .toBe(3);
    const seen = await patient.evaluate(
      () => (window as unknown as { progressSeen: Record<string, number[]> }).progressSeen,
    );
    for (const file of files) {
      const { name } = file;
      const size = Buffer.from(file.base64, 'base64').length;
      const values = seen[`upload of ${name}`] ?? [];
      const max = seen[`upload of ${name} max`]?.[0];
      expect(max, name).toBe(size);
      // The bar ran from the start to the whole file, never backwards.
      expect(values.at(-1), name).toBe(size);
      expect(values, name).toEqual([...values].sort((a, b) => a - b));
    }
    await shot(patient, '02-upload');
    // Dropping a file whose name is taken never replaces it: the upload is refused and says why.
    await dropFiles(patient, [{ name: 'notes.txt', type: 'text/plain', base64: text('replaced?') }]);
    const refused = uploads.locator('li[data-state=failed]');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('a file named notes.txt is already here');
  });

  it('browses the folder, shows metadata and safe previews', async () => {
    const listing = patient.getByTestId('folder-listing');
    await expect.poll(async () => listing.locator('tbody tr').count(), POLL).toBe(3);
    await patient.getByRole('button', { name: 'notes.txt', exact: true }).click();
    await expect
      .poll(async () => patient.getByTestId('text-preview').textContent(), POLL)
      .toBe('Allergies: penicillin.\nBlood type: O+');
    expect(await patient.getByTestId('file-author').textContent()).toBe(P);
    await patient.getByRole('button', { name: 'xray.png', exact: true }).click();
    const image = patient.getByTestId('image-preview');
    await image.waitFor();
    expect(await image.getAttribute('src')).toMatch(/^blob:/);
    expect(await image.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(2);
    await shot(patient, '03-browse');
  });

  it('never renders HTML or SVG from the pod: no preview, nothing runs', async () => {
    await patient.getByLabel(/^New folder/).fill('/inbox');
    await patient.getByRole('button', { name: 'Open new folder' }).click();
    const script = '<script>parent.pwned = true; alert(1)</script>';
    await dropFiles(patient, [
      {
        name: 'page.html',
        type: 'text/html',
        base64: text(`<h1>hi</h1>${script}<img src=x onerror="alert(2)">`),
      },
      {
        name: 'vector.svg',
        type: 'image/svg+xml',
        base64: text(`<svg xmlns="http://www.w3.org/2000/svg">${script}</svg>`),
      },
    ]);
    await expect.poll(async () => patient.locator('li[data-state=done]').count(), POLL).toBe(5);
    const dialogs: string[] = [];
    const onDialog = (dialog: Dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    };
    patient.on('dialog', onDialog);
    try {
      for (const name of ['page.html', 'vector.svg']) {
        await patient.getByRole('button', { name, exact: true }).click();
        await patient.getByText(/No preview for this type/).waitFor();
        expect(await patient.getByTestId('image-preview').count(), name).toBe(0);
        expect(await patient.getByTestId('text-preview').count(), name).toBe(0);
        expect(await patient.locator('iframe, object, embed').count(), name).toBe(0);
      }
      expect(await patient.evaluate(() => (window as unknown as { pwned?: boolean }).pwned)).toBeUndefined();
      expect(dialogs).toEqual([]);
    } finally {
      patient.off('dialog', onDialog);
    }
  });

  it('shows thumbnails of images and PDFs made by the workers, none for a text file', async () => {
    await patient.getByLabel(/^New folder/).fill('/scans');
    await patient.getByRole('button', { name: 'Open new folder' }).click();
    await patient.getByText('This folder is empty').waitFor();
    // A window so short that the listing's rows are far below it: no thumbnail is asked for yet.
    await patient.setViewportSize({ width: 1280, height: 40 });
    const png = await makeImage('png', 600, 400);
    const pdf = await makePdf(1, { text: () => ['Lab report', 'No penicillin reaction observed'] });
    await dropFiles(patient, [
      { name: 'knee.png', type: 'image/png', base64: png.toString('base64') },
      { name: 'lab-report.pdf', type: 'application/pdf', base64: Buffer.from(pdf).toString('base64') },
      { name: 'scan-note.txt', type: 'text/plain', base64: text('Penicillin given before the scan.') },
    ]);
    await expect.poll(async () => patient.locator('li[data-state=done]').count(), POLL).toBe(8);
    const listing = patient.getByTestId('folder-listing');
    await expect.poll(async () => listing.locator('tbody tr').count(), POLL).toBe(3);
    const thumbnail = (name: string) => listing.locator(`tr[data-name="${name}"] [data-testid=thumbnail]`);
    const previewsAsked = (name: string) =>
      requested.filter((url) => url.includes(`/scans/${name}?`) && url.includes('preview=')).length;
    await patient.waitForTimeout(1_000);
    for (const name of ['knee.png', 'lab-report.pdf']) {
      expect(await thumbnail(name).getAttribute('data-state'), name).toBe('idle');
      expect(previewsAsked(name), name).toBe(0);
    }
    // Scrolled to: asked for, and shown once made.
    await listing.locator('tr[data-name="knee.png"]').scrollIntoViewIfNeeded();
    await expect.poll(async () => previewsAsked('knee.png'), POLL).toBeGreaterThan(0);
    await patient.setViewportSize({ width: 1280, height: 900 });
    for (const name of ['knee.png', 'lab-report.pdf']) {
      const image = thumbnail(name).locator('img');
      // Made in the background: a placeholder first, the picture once a worker has made it.
      await image.waitFor({ timeout: 60_000 });
      expect(await image.getAttribute('src'), name).toMatch(/^blob:/);
      await expect
        .poll(async () => image.evaluate((img) => (img as HTMLImageElement).naturalWidth), POLL)
        .toBeGreaterThan(0);
      const natural = await image.evaluate((img) => {
        const i = img as HTMLImageElement;
        return Math.max(i.naturalWidth, i.naturalHeight);
      });
      expect(natural, name).toBeLessThanOrEqual(256);
    }
    // The PNG's longest side became 256 (never more); its shape is kept.
    expect(
      await thumbnail('knee.png')
        .locator('img')
        .evaluate((img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight]),
    ).toEqual([256, 171]);
    // A text file: the usual icon, and no preview was even asked for.
    expect(await thumbnail('scan-note.txt').getAttribute('data-state')).toBe('none');
    expect(await thumbnail('scan-note.txt').locator('img').count()).toBe(0);
    expect(requested.filter((url) => url.includes('scan-note.txt') && url.includes('preview='))).toEqual([]);
    // Previews travel with the token in a header, never in the URL.
    const previews = requested.filter((url) => url.includes('preview='));
    expect(previews.length).toBeGreaterThanOrEqual(2);
    for (const url of previews) expect(url).not.toMatch(/token|pst_/i);
    await shot(patient, '03b-thumbnails');

    // The details: the 1024 preview (never enlarged: the image's own 600 px) and the processing state.
    await patient.getByRole('button', { name: 'knee.png', exact: true }).click();
    const large = patient.getByTestId('image-preview');
    await large.waitFor({ timeout: 30_000 });
    expect(await large.getAttribute('data-source')).toBe('server');
    await expect
      .poll(async () => large.evaluate((img) => (img as HTMLImageElement).naturalWidth), POLL)
      .toBe(600);
    await expect
      .poll(async () => patient.getByTestId('processing-state').getAttribute('data-state'), POLL)
      .toBe('done');
    await shot(patient, '03c-preview-details');

    // Leaving the folder drops its thumbnails, and their blob: URLs with them.
    const src = (await thumbnail('knee.png').locator('img').getAttribute('src')) ?? '';
    expect(await imageLoads(patient, src)).toBe(true);
    await patient.getByRole('button', { name: 'pod', exact: true }).click();
    await listing.locator('tr[data-name="scans"]').waitFor(POLL);
    expect(await imageLoads(patient, src)).toBe(false);
  });

  it('uploads a 20 MiB file resumably (tus): it survives a PATCH cut mid-way, and arrives whole', async () => {
    await patient.getByLabel(/^New folder/).fill('/large');
    await patient.getByRole('button', { name: 'Open new folder' }).click();
    await patient.getByText('This folder is empty').waitFor();
    const token = record.tokens[0] ?? '';
    const bytes = randomBytes(20 << 20);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const files = `${origin}/v1/users/${P}/files/large/`;
    const uploads = `/v1/users/${P}/uploads/`;
    const sent: string[] = [];
    const onRequest = (request: Request) => {
      const { pathname } = new URL(request.url());
      // The upload's requests, and any to the file itself (the folder's listing is asked again too).
      if (pathname.startsWith(uploads) || pathname.startsWith(`/v1/users/${P}/files/large/mri.bin`))
        sent.push(`${request.method()} ${pathname}`);
    };
    patient.on('request', onRequest);
    // The first PATCH: half of it reaches the server, then its connection drops. Later ones go through,
    // each recorded with the offset it starts from.
    let cutAt: number | undefined;
    const patchOffsets: number[] = [];
    let hold: ((route: Route) => void) | undefined;
    await patient.route(`**${uploads}*`, async (route) => {
      const request = route.request();
      if (request.method() !== 'PATCH') return route.fallback();
      patchOffsets.push(Number(await request.headerValue('upload-offset')));
      if (hold !== undefined) return hold(route);
      if (cutAt === undefined) {
        cutAt = await cutPatch(request, bytes);
        return route.abort('connectionreset');
      }
      return route.fallback();
    });
    try {
      await dropBytes(patient, 'mri.bin', 'application/octet-stream', bytes);
      const row = patient.getByRole('list', { name: 'Uploads' }).locator('li', { hasText: 'mri.bin' });
      expect(await row.getAttribute('data-resumable')).toBe('true');
      await expect.poll(async () => row.getAttribute('data-state'), { timeout: 90_000 }).toBe('done');
      // It went on from where the server stopped, not from the start.
      expect(cutAt).toBeGreaterThan(0);
      expect(cutAt).toBeLessThan(bytes.length);
      expect(patchOffsets).toEqual([0, cutAt]);
      // tus: the look at the name, a creation, the cut PATCH, a HEAD asking where the server is, the
      // rest in one PATCH. Never a PUT.
      const id = /^POST \S+\/uploads\/$/.test(sent[1] ?? '') ? (sent[2] ?? '').split('/').at(-1) : undefined;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(sent).toEqual([
        `GET /v1/users/${P}/files/large/mri.bin`,
        `POST ${uploads}`,
        `PATCH ${uploads}${id}`,
        `HEAD ${uploads}${id}`,
        `PATCH ${uploads}${id}`,
      ]);
      // The bar ends at the whole file.
      const seen = await patient.evaluate(
        () => (window as unknown as { progressSeen: Record<string, number[]> }).progressSeen,
      );
      expect(seen['upload of mri.bin max']?.[0]).toBe(bytes.length);
      expect(seen['upload of mri.bin']?.at(-1)).toBe(bytes.length);
      // Every byte arrived: the stored file's digest, and the digest of the bytes read back.
      const auth = { authorization: `Bearer ${token}` };
      const info = (await (await fetch(`${files}mri.bin?metadata`, { headers: auth })).json()) as {
        size: number;
        sha256: string;
      };
      expect(info).toMatchObject({ size: bytes.length, sha256 });
      const back = Buffer.from(await (await fetch(`${files}mri.bin`, { headers: auth })).arrayBuffer());
      expect(createHash('sha256').update(back).digest('hex')).toBe(sha256);
      // Nothing of the upload was kept in the browser for after a reload.
      expect(await patient.evaluate(() => localStorage.length)).toBe(0);
      await shot(patient, '03e-resumable-upload');

      // Cancel: its PATCH is held, the upload is deleted on the server (tus termination), nothing stored.
      let held: Route | undefined;
      hold = (route) => {
        held = route;
      };
      sent.length = 0;
      await dropBytes(patient, 'cancel-me.bin', 'application/octet-stream', bytes.subarray(0, 17 << 20));
      await expect.poll(() => held !== undefined, POLL).toBe(true);
      const uploadUrl = held?.request().url() ?? '';
      const deleted = patient.waitForResponse(
        (res) => res.request().method() === 'DELETE' && res.url() === uploadUrl,
      );
      const cancelled = patient
        .getByRole('list', { name: 'Uploads' })
        .locator('li', { hasText: 'cancel-me.bin' });
      await cancelled.getByRole('button', { name: /^Cancel/ }).click();
      expect((await deleted).status()).toBe(204);
      const heldPath = new URL(uploadUrl).pathname;
      expect(sent).toEqual([`POST ${uploads}`, `PATCH ${heldPath}`, `DELETE ${heldPath}`]);
      await held?.abort().catch(() => {}); // the page gave up on it already
      await expect.poll(async () => cancelled.getAttribute('data-state'), POLL).toBe('cancelled');
      const tus = { ...auth, 'tus-resumable': '1.0.0' };
      expect((await fetch(uploadUrl, { method: 'HEAD', headers: tus })).status).toBe(404);
      expect((await fetch(`${files}cancel-me.bin?metadata`, { headers: auth })).status).toBe(404);
    } finally {
      patient.off('request', onRequest);
      await patient.unroute(`**${uploads}*`);
    }
  });

  it('refuses a large upload onto a taken name, and one whose server names another origin', async () => {
    const bytes = randomBytes(17 << 20);
    const uploads = `/v1/users/${P}/uploads/`;
    const created: string[] = [];
    const queue = patient.getByRole('list', { name: 'Uploads' });
    // A taken name: refused before any upload is made, as a PUT's 412 would be.
    const onRequest = (request: Request) => {
      if (request.method() === 'POST' && new URL(request.url()).pathname === uploads)
        created.push(request.url());
    };
    patient.on('request', onRequest);
    try {
      await dropBytes(patient, 'mri.bin', 'application/octet-stream', bytes);
      const again = queue.locator('li[data-state=failed]', { hasText: 'mri.bin' });
      await again.waitFor(POLL);
      expect(await again.textContent()).toContain('a file named mri.bin is already here');
      expect(created).toEqual([]);
    } finally {
      patient.off('request', onRequest);
    }
    // A hostile (or misconfigured) server whose creation names an upload URL elsewhere: the token is
    // never sent there, and the upload fails saying why.
    await patient.route(`**${uploads}`, (route) =>
      route.request().method() === 'POST'
        ? route.fulfill({
            status: 201,
            headers: {
              location: `https://evil.example${uploads}0b0e5a2c-7d0e-4a53-9a51-3c1f6f1b9d11`,
              'tus-resumable': '1.0.0',
              'upload-offset': '0',
            },
          })
        : route.fallback(),
    );
    try {
      await dropBytes(patient, 'elsewhere.bin', 'application/octet-stream', bytes);
      const refused = queue.locator('li[data-state=failed]', { hasText: 'elsewhere.bin' });
      await refused.waitFor(POLL);
      expect(await refused.textContent()).toContain(
        'the server named an upload address on another origin (https://evil.example); nothing was sent there',
      );
      expect(foreign).toEqual([]);
      expect(requested.filter((url) => url.includes('evil.example'))).toEqual([]);
    } finally {
      await patient.unroute(`**${uploads}`);
    }
  });

  it('searches the pod: a word of a text file, the match marked, the result opens the file', async () => {
    // Indexed in the background too: asked again until the files written above are found.
    await expect
      .poll(async () => search(patient, 'penicillin'), { timeout: 60_000, interval: 1_000 })
      .toEqual(expect.arrayContaining(['medical/notes.txt', 'scans/scan-note.txt', 'scans/lab-report.pdf']));
    const results = patient.getByTestId('search-results');
    const hit = results.locator('li[data-path="medical/notes.txt"]');
    expect(await hit.getByTestId('search-snippet').textContent()).toContain('Allergies: penicillin.');
    const marks = await hit.locator('mark').allTextContents();
    expect(marks.length).toBeGreaterThan(0);
    for (const mark of marks) expect(mark.toLowerCase()).toBe('penicillin');
    await shot(patient, '03d-search');
    await hit.getByRole('button', { name: 'notes.txt', exact: true }).click();
    await patient.getByRole('heading', { name: 'medical/notes.txt' }).waitFor(POLL);
    expect(
      await patient
        .getByRole('navigation', { name: 'Folder path' })
        .locator('[aria-current=page]')
        .textContent(),
    ).toBe('medical');
    // A query the API refuses: its explanation, not an empty list.
    await search(patient, '!!!');
    const refusal = patient.getByTestId('search').getByRole('alert');
    expect(await refusal.textContent()).toMatch(/no word.*request id/i);
  });

  it('lets someone allowed to read one folder search only that folder', async () => {
    const reader = await (await newContext({ width: 1024, height: 800 })).newPage();
    await reader.goto(`${origin}/`);
    await reader.getByLabel('Username', { exact: true }).nth(1).fill(R);
    await reader.getByRole('button', { name: 'Create account' }).click();
    record.tokens.push(await reader.getByTestId('new-account-token').inputValue());
    await reader.getByRole('button', { name: 'Continue to my pod' }).click();
    await reader.getByTestId('signed-in-as').waitFor();

    await patient.getByRole('button', { name: 'Access' }).click();
    await patient.getByLabel('Grantee (username)').fill(R);
    await patient.getByLabel(/^Scope/).fill('/scans/');
    await patient.getByRole('button', { name: 'Grant', exact: true }).click();
    await patient.getByTestId('grants-list').locator(`tr[data-grantee=${R}]`).waitFor();

    try {
      await reader.getByRole('button', { name: 'Shared with me' }).click();
      await reader.getByLabel('Owner of the pod').fill(P);
      await reader.getByRole('button', { name: 'Show my access' }).click();
      await reader.getByRole('button', { name: `Open /scans/ of ${P}` }).click();
      await reader.getByTestId('folder-listing').waitFor(POLL);
      // The same word is in /medical/notes.txt: the reader sees only what is under /scans/.
      const found = await search(reader, 'penicillin');
      expect([...found].sort()).toEqual(['scans/lab-report.pdf', 'scans/scan-note.txt']);
      expect(await reader.getByTestId('search').textContent()).not.toMatch(/medical|notes\.txt|Allergies/);
      // Words and names only found outside the scope: nothing, and nothing hints at them.
      for (const q of ['allergies', 'blood', 'xray']) expect(await search(reader, q), q).toEqual([]);
      expect(await reader.getByTestId('search-empty').textContent()).toContain('in what you may read');
      // Its thumbnails are there too: reading the folder is enough.
      await reader
        .getByTestId('folder-listing')
        .locator('tr[data-name="knee.png"] [data-testid=thumbnail] img')
        .waitFor({ timeout: 30_000 });
      await shot(reader, '03e-reader-search');
    } finally {
      // Revoked whatever happened above, so that the walk goes on with the pod as it was.
      patient.once('dialog', (dialog) => void dialog.accept());
      await patient.getByRole('button', { name: `Revoke ${R}` }).click();
      await patient.getByText('Nobody else has access to your pod.').waitFor();
    }
    // Revoked: its search is refused, and says so.
    await search(reader, 'penicillin');
    await reader.getByTestId('search').getByRole('alert').waitFor(POLL);
    expect(await reader.getByTestId('search-results').count()).toBe(0);
    // Back where the walk was: the patient's files.
    await patient.getByRole('button', { name: 'Files' }).click();
    await patient.getByTestId('folder-listing').waitFor(POLL);
  });

  it('creates a labelled token, lists it and revokes it', async () => {
    await patient.getByRole('button', { name: 'Tokens' }).click();
    // Choosing a view moves the focus to its content.
    // (after the view has rendered: the focus moves in an effect)
    await expect.poll(async () => patient.evaluate(() => document.activeElement?.id), POLL).toBe('main');
    await patient.getByLabel('Label').fill('laptop');
    await patient.getByRole('button', { name: 'Create token' }).click();
    const laptopToken = await patient.getByLabel('the new token').inputValue();
    expect(laptopToken).toMatch(/^pst_/);
    record.tokens.push(laptopToken);
    const laptop = patient.getByRole('row').filter({ hasText: 'laptop' });
    await laptop.waitFor();
    patient.once('dialog', (dialog) => void dialog.accept());
    await laptop.getByRole('button', { name: /^Revoke/ }).click();
    await expect.poll(async () => laptop.count(), POLL).toBe(0);
    // The account's first token (this session's) is still listed, and still works.
    expect(await patient.getByRole('row').count()).toBe(2);
  });

  it('lets the patient grant the hospital append on /medical/', async () => {
    hospital = await (await newContext({ width: 390, height: 844 })).newPage();
    await hospital.goto(`${origin}/`);
    await hospital.getByLabel('Username', { exact: true }).nth(1).fill(H);
    await hospital.getByLabel('Account kind').selectOption('organization');
    await hospital.getByRole('button', { name: 'Create account' }).click();
    record.tokens.push(await hospital.getByTestId('new-account-token').inputValue());
    await hospital.getByRole('button', { name: 'Continue to my pod' }).click();
    await hospital.getByTestId('signed-in-as').waitFor();
    // A phone-sized screen: nothing wider than the viewport.
    expect(await hospital.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(
      true,
    );

    await patient.getByRole('button', { name: 'Access' }).click();
    await patient.getByLabel('Grantee (username)').fill(H);
    await patient.getByLabel(/^Scope/).fill('/medical/');
    await patient.getByRole('checkbox', { name: /^read/ }).uncheck();
    await patient.getByRole('checkbox', { name: /^append/ }).check();
    await patient.getByRole('button', { name: 'Grant', exact: true }).click();
    const row = patient.getByTestId('grants-list').locator(`tr[data-grantee=${H}]`);
    await row.waitFor();
    expect(await row.locator('td').allTextContents()).toEqual(
      expect.arrayContaining([H, '/medical/', 'append', 'never']),
    );
    await shot(patient, '04-grant');
  });

  it('shows the hospital its access; its result appears live and sealed in the patient’s folder', async () => {
    await patient.getByRole('button', { name: 'Files' }).click();
    await patient.getByRole('button', { name: 'medical/', exact: true }).click();
    await patient.locator('[data-live=live]').waitFor({ timeout: 20_000 });
    const rows = patient.getByTestId('folder-listing').locator('tbody tr');
    await expect.poll(async () => rows.count(), POLL).toBe(3);

    await hospital.getByRole('button', { name: 'Shared with me' }).click();
    await hospital.getByLabel('Owner of the pod').fill(P);
    await hospital.getByRole('button', { name: 'Show my access' }).click();
    await hospital.getByText('/medical/: append').waitFor();
    await hospital.getByRole('button', { name: `Open /medical/ of ${P}` }).click();
    // Append only: nothing to read, and the console says why rather than showing an empty folder.
    await hospital.getByTestId('unlisted').waitFor();
    await dropFiles(hospital, [{ name: 'lab-result.txt', type: 'text/plain', base64: text('HbA1c 5.4 %') }]);
    await hospital.locator('li[data-state=done]').waitFor({ timeout: 20_000 });
    expect(await hospital.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(
      true,
    );
    await shot(hospital, '05-hospital-adds-result');

    // No reload: the patient's folder view got the event.
    await patient.getByRole('button', { name: 'lab-result.txt', exact: true }).waitFor({ timeout: 15_000 });
    expect(await rows.count()).toBe(4);
    await patient.getByRole('button', { name: 'lab-result.txt', exact: true }).click();
    const sealed = patient.getByTestId('sealed-notice');
    await sealed.waitFor();
    expect(await sealed.textContent()).toContain(`written by ${H}`);
    expect(await patient.getByTestId('file-author').textContent()).toBe(H);
    // Nothing offers to change a sealed file.
    expect(await patient.getByRole('button', { name: 'Save tags and description' }).count()).toBe(0);
    await shot(patient, '06-live-and-sealed');
  });

  it('shows the grant and the hospital’s writes in the patient’s audit log, filtered and live', async () => {
    await patient.getByRole('button', { name: 'Audit log' }).click();
    const log = patient.getByTestId('audit-log');
    await log.locator(`tr[data-actor=${H}]`).first().waitFor();
    const rows = await log.locator('tbody tr').evaluateAll((trs) =>
      trs.map((tr) => {
        const [, who, what, path, outcome] = Array.from(
          tr.querySelectorAll('td'),
          (td) => td.textContent ?? '',
        );
        return { who, what, path, outcome };
      }),
    );
    expect(rows).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          who: H,
          what: 'write',
          path: expect.stringContaining('medical/lab-result.txt'),
          outcome: 'allowed',
        }),
        expect.objectContaining({ who: P, what: 'grant', path: H, outcome: 'allowed' }),
      ]),
    );
    await shot(patient, '07-audit-log');
    await patient.getByLabel('Actor').fill(H);
    expect(await log.locator(`tbody tr:not([data-actor=${H}])`).count()).toBe(0);
    await shot(patient, '07b-audit-log-filtered');
    // Live: the hospital adds another result while the patient looks at the log; its entry appears.
    await patient.locator('[data-live=live]').waitFor({ timeout: 20_000 });
    await dropFiles(hospital, [{ name: 'lab-result-2.txt', type: 'text/plain', base64: text('LDL 2.1') }]);
    await log.getByText('medical/lab-result-2.txt').waitFor({ timeout: 15_000 });
  });

  it('revokes the hospital: its next upload is refused with the problem detail', async () => {
    patient.on('dialog', (dialog) => void dialog.accept());
    await patient.getByRole('button', { name: 'Access' }).click();
    await patient.getByRole('button', { name: `Revoke ${H}` }).click();
    await patient.getByText('Nobody else has access to your pod.').waitFor();
    await shot(patient, '08-revoked');

    await dropFiles(hospital, [{ name: 'late.txt', type: 'text/plain', base64: text('too late') }]);
    const failed = hospital.locator('li[data-state=failed]');
    await failed.waitFor({ timeout: 15_000 });
    expect(await failed.textContent()).toMatch(/failed: .+/);
  });

  it('signs out: the token is gone from the page and from session storage', async () => {
    await patient.getByRole('button', { name: 'Sign out' }).click();
    await patient.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await patient.evaluate(() => JSON.stringify(sessionStorage))).toBe('{}');
    expect(await patient.evaluate(() => document.cookie)).toBe('');
    await shot(patient, '09-signed-out');
  });

  it('made no request to any other origin, and every request went to the api', () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(foreign).toEqual([]);
  });

  return record;
}
