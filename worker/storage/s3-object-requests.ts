/**
 * The single-object S3 calls that every small request makes (GET, HEAD, PUT and DELETE of one key), on
 * Node's http client with keep-alive (s3-transport.ts, so the same idle timeout applies), signed
 * (Signature Version 4) by the aws4 package. Through minio-js each such call cost the worker about
 * 200–240 µs of CPU: it derives the signing key anew (four HMACs), builds its request through several
 * layers, and parses the XML body of every error, an expected 404 included. Here a call costs about
 * 110–135 µs (docs/benchmarks.md, "the S3 client"). Listings, multipart uploads, ranged and streamed
 * reads and bucket calls stay on minio-js (s3-store.ts): they are few per request or large.
 *
 * Answers are read whole (these calls carry records and small bodies); a failure answer becomes an
 * S3AnswerError with the server's error code (from its XML body, or from the status when there is no
 * body, as for HEAD), which s3-errors.ts translates like a minio-js error.
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import aws4 from 'aws4';

export type S3Method = 'GET' | 'HEAD' | 'PUT' | 'DELETE';

export interface S3Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A failure answer from the server: `code` is S3's (NoSuchKey, PreconditionFailed, SlowDown...). */
export class S3AnswerError extends Error {
  override name = 'S3AnswerError';
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface S3ObjectRequestsConfig {
  endpoint: URL;
  bucket: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Sends one HTTP request (the timed transport of s3-transport.ts). */
  request: (
    options: RequestOptions,
    callback: (response: IncomingMessage) => void,
  ) => import('node:http').ClientRequest;
}

/** What each status means when the answer has no error body (HEAD answers never have one). */
const CODE_OF_STATUS: Record<number, string> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NotFound',
  409: 'Conflict',
  412: 'PreconditionFailed',
  503: 'SlowDown',
};

export class S3ObjectRequests {
  readonly #credentials: { accessKeyId: string; secretAccessKey: string };
  readonly #host: string;

  constructor(private readonly config: S3ObjectRequestsConfig) {
    this.#credentials = { accessKeyId: config.accessKey, secretAccessKey: config.secretKey };
    this.#host = config.endpoint.host;
  }

  /** One signed call on `key`; resolves with any answer the server gives (failures included). */
  send(method: S3Method, key: string, options: { headers?: Record<string, string>; body?: Buffer } = {}) {
    const body = options.body;
    const signed = aws4.sign(
      {
        host: this.#host,
        method,
        path: `/${encodeSegment(this.config.bucket)}/${key.split('/').map(encodeSegment).join('/')}`,
        service: 's3',
        region: this.config.region,
        headers: {
          ...options.headers,
          ...(body === undefined ? {} : { 'content-length': String(body.length) }),
        },
        ...(body === undefined ? {} : { body }),
      },
      this.#credentials,
    );
    const { endpoint } = this.config;
    return new Promise<S3Answer>((resolve, reject) => {
      const request = this.config.request(
        {
          protocol: endpoint.protocol,
          hostname: endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: endpoint.port === '' ? undefined : Number(endpoint.port),
          method,
          path: signed.path,
          headers: signed.headers as Record<string, string>,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }
}

/** The error for a failure answer: S3's code from the XML body, else one that the status implies. */
export function answerError(answer: S3Answer, what: string): S3AnswerError {
  const text =
    answer.body.length > 0 ? answer.body.toString('utf8', 0, Math.min(answer.body.length, 4096)) : '';
  const code =
    /<Code>([^<]{1,100})<\/Code>/.exec(text)?.[1] ?? CODE_OF_STATUS[answer.status] ?? `Http${answer.status}`;
  const message = /<Message>([^<]{1,300})<\/Message>/.exec(text)?.[1];
  return new S3AnswerError(
    code,
    answer.status,
    `${what}: ${answer.status} ${code}${message ? ` (${message})` : ''}`,
  );
}

/** A key segment as S3's canonical URI wants it: every byte but A–Z a–z 0–9 - . _ ~ percent-encoded. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
