/**
 * Every answer the chaos run got, and the verdict against the acceptance rules: every acknowledged write
 * read back intact, no idempotent request failed, every failure a 503 with Retry-After, an error rate
 * under the limit, and the kills actually happened; with large transfers in the mix, that each kind ran;
 * with abandoned uploads, that nothing of them is left in the store after their expiry.
 */
export interface Answer {
  op: string;
  /** HTTP status; 0 when no answer came (connection reset, timeout). */
  status: number;
  /** The request may run twice without harm, so the system must not fail it (it retries for the client). */
  idempotent: boolean;
  retryAfter: boolean;
  /** Seconds since the start of the load. */
  at: number;
}

export interface Failure extends Answer {
  detail?: string;
}

/** One large transfer (a resumable upload, a long download): when it ran, so kills can be set against it. */
export interface Transfer {
  op: string;
  /** Seconds since the start of the load. */
  startS: number;
  endS: number;
  bytes: number;
  ok: boolean;
  /** Requests the client sent again after a failure (a resumable upload's retried PATCH or HEAD). */
  retries: number;
}

/** Per kind of large transfer: how many ran, succeeded, and were under way when a worker was killed. */
export interface TransferFigures {
  ran: number;
  succeeded: number;
  /** Transfers under way at the moment of a kill (start ≤ kill ≤ end). */
  duringKills: number;
  /** Transfers whose client retried a request (resumable uploads only: a download's break is the api's to mend). */
  retried: number;
  mib: number;
  longestS: number;
}

/** Uploads the run created, partly sent and left: what of them was stored, and what is left after their expiry. */
export interface AbandonedFigures {
  uploads: number;
  /** Objects of theirs in the store (records, segments, expiry entries, quota reservations) before they expired. */
  objectsBefore: number;
  /** Objects of theirs still there at the end: must be 0. */
  objectsLeft: number;
  leftKeys: string[];
  /** Seconds from the last expiry to the first look that found nothing of them (or the wait's end). */
  goneAfterExpiryS: number;
  /** Why they could not be checked (their expiry too far off), if so. */
  unchecked?: string;
}

const success = (status: number) => (status >= 200 && status < 300) || status === 304;

export class ChaosTally {
  requests = 0;
  /** Answers per operation of the mix. */
  readonly byOp: Record<string, number> = {};
  readonly failures: Failure[] = [];
  /** Reads during the load whose bytes no write of the ledger explains. */
  readonly wrongReads: { path: string; found: string; allowed: string[] }[] = [];

  /** When each answer came (seconds since the start of the load). */
  readonly answeredAt: number[] = [];
  /** Large transfers, each also counted as one answer. */
  readonly transfers: Transfer[] = [];

  record(answer: Answer, detail?: string): void {
    this.requests++;
    this.byOp[answer.op] = (this.byOp[answer.op] ?? 0) + 1;
    this.answeredAt.push(answer.at);
    if (!success(answer.status))
      this.failures.push({ ...answer, ...(detail === undefined ? {} : { detail }) });
  }
}

export interface ReadBack {
  /** Paths and created files read back after the load. */
  checked: number;
  intact: number;
  wrong: { path: string; found: string; allowed: string[] }[];
}

export interface ChaosFigures {
  requests: number;
  /** Answers per operation of the mix. */
  byOp: Record<string, number>;
  failures: number;
  errorRate: number;
  failuresByStatus: Record<string, number>;
  /** Failures that were not a 503 with Retry-After. */
  otherFailures: number;
  idempotentFailures: number;
  wrongReadsDuringLoad: number;
  readBack: { checked: number; intact: number };
  kills: number;
  /** Per kill: answers in the kill interval after it; a kill hit running load when its count is not 0. */
  answersAfterKills: number[];
  /** Large transfers per operation (resumable, long-download), when the mix had them. */
  transfers: Record<string, TransferFigures>;
  /** Abandoned uploads, when the run left some. */
  abandoned?: AbandonedFigures;
}

export interface Verdict {
  pass: boolean;
  /** One line per rule broken. */
  broken: string[];
}

/** `killedAt`: when each kill happened, in seconds since the start of the load; `windowS`: the kill interval. */
export function figuresOf(
  tally: ChaosTally,
  readBack: ReadBack,
  killedAt: number[],
  windowS = 1,
): ChaosFigures {
  const failuresByStatus: Record<string, number> = {};
  for (const f of tally.failures)
    failuresByStatus[String(f.status)] = (failuresByStatus[String(f.status)] ?? 0) + 1;
  return {
    requests: tally.requests,
    byOp: { ...tally.byOp },
    failures: tally.failures.length,
    errorRate: tally.requests === 0 ? 0 : tally.failures.length / tally.requests,
    failuresByStatus,
    otherFailures: tally.failures.filter((f) => !(f.status === 503 && f.retryAfter)).length,
    idempotentFailures: tally.failures.filter((f) => f.idempotent).length,
    wrongReadsDuringLoad: tally.wrongReads.length,
    readBack: { checked: readBack.checked, intact: readBack.intact },
    kills: killedAt.length,
    answersAfterKills: killedAt.map(
      (k) => tally.answeredAt.filter((at) => at > k && at <= k + windowS).length,
    ),
    transfers: transferFigures(tally.transfers, killedAt),
  };
}

export function transferFigures(transfers: Transfer[], killedAt: number[]): Record<string, TransferFigures> {
  const out: Record<string, TransferFigures> = {};
  for (const t of transfers) {
    const f = out[t.op] ?? { ran: 0, succeeded: 0, duringKills: 0, retried: 0, mib: 0, longestS: 0 };
    out[t.op] = f;
    f.ran++;
    if (t.ok) f.succeeded++;
    if (killedAt.some((k) => t.startS <= k && k <= t.endS)) f.duringKills++;
    if (t.retries > 0) f.retried++;
    f.mib = Math.round((f.mib + t.bytes / 2 ** 20) * 10) / 10;
    f.longestS = Math.max(f.longestS, Math.round((t.endS - t.startS) * 10) / 10);
  }
  return out;
}

export function verdictOf(
  figures: ChaosFigures,
  rules: { maxErrorRate: number; minKills: number; transfers?: string[] },
): Verdict {
  const broken: string[] = [];
  if (figures.requests === 0) broken.push('no request was made');
  if (figures.readBack.intact !== figures.readBack.checked)
    broken.push(
      `${figures.readBack.checked - figures.readBack.intact} of ${figures.readBack.checked} writes not read back intact`,
    );
  if (figures.wrongReadsDuringLoad > 0)
    broken.push(`${figures.wrongReadsDuringLoad} reads during the load returned bytes nobody wrote`);
  if (figures.idempotentFailures > 0) broken.push(`${figures.idempotentFailures} idempotent requests failed`);
  if (figures.otherFailures > 0)
    broken.push(`${figures.otherFailures} failures were not a 503 with Retry-After`);
  if (figures.errorRate >= rules.maxErrorRate)
    broken.push(
      `error rate ${(figures.errorRate * 100).toFixed(3)} % is not under ${(rules.maxErrorRate * 100).toFixed(3)} %`,
    );
  if (figures.kills < rules.minKills)
    broken.push(`only ${figures.kills} workers were killed (expected at least ${rules.minKills})`);
  for (const op of rules.transfers ?? [])
    if ((figures.transfers[op]?.ran ?? 0) === 0) broken.push(`no ${op} transfer ran`);
  const a = figures.abandoned;
  if (a?.unchecked !== undefined) broken.push(`abandoned uploads not checked: ${a.unchecked}`);
  else if (a !== undefined && a.objectsBefore === 0)
    broken.push('the abandoned uploads left nothing to check');
  if (a !== undefined && a.objectsLeft > 0)
    broken.push(`${a.objectsLeft} objects of ${a.uploads} abandoned uploads left after their expiry`);
  return { pass: broken.length === 0, broken };
}
