/**
 * Response headers that keep a browser from turning what podstore serves into active content in its
 * origin. Every answer: no MIME sniffing, nothing loaded, never framed. File bodies (GET and HEAD of a
 * file) are someone's bytes under someone's Content-Type, so they are also sandboxed (no script, no
 * same-origin access even when opened directly) and served inline only when their type cannot run
 * anything (api/files/content-disposition.ts).
 */
export const BASELINE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};

export const FILE_BODY_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

/**
 * The rendered API reference (/docs, swagger-ui): its scripts, styles and images come from this origin
 * only (no inline script; images may be data: URLs), it fetches only the document from here, and it
 * is never framed. The one inline style swagger-ui applies is allowed by its hash, not by
 * 'unsafe-inline' (test/integration/docs-browser.test.ts fails on any violation, so a new version of
 * swagger-ui that styles differently is seen at once).
 */
const SWAGGER_UI_STYLE_HASH = "'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='";

export const DOCS_CSP = `default-src 'none'; script-src 'self'; style-src 'self' ${SWAGGER_UI_STYLE_HASH}; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

/**
 * The web console's page and assets (api/console/): scripts, styles, fonts and images from this origin
 * only, no inline script or style attribute, no eval, API calls to this origin only, images also from
 * blob: URLs (previews the console builds from a pod file's bytes), never framed, no form posted
 * elsewhere, no <base> rewriting.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
