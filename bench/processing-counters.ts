/**
 * The file-processing counters of one worker's /metrics (Prometheus text), summed for the benchmark.
 * Counters are per worker process and start at 0 with it: a run takes a snapshot of every worker before
 * its uploads and counts the difference (a worker added later simply has no earlier jobs).
 */

/** Jobs that ended for good (a retry is not an end: the job comes back). */
export const FINAL_RESULTS = ['processed', 'indexed', 'removed', 'account-gone', 'gave-up'] as const;

export interface JobCounters {
  /** Jobs that ended for good. */
  finished: number;
  retries: number;
  /** Sum and count of the job-duration histogram (seconds). */
  jobSeconds: number;
  jobs: number;
}

export const NO_JOBS: JobCounters = { finished: 0, retries: 0, jobSeconds: 0, jobs: 0 };

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;

/** Reads the processing counters out of one /metrics answer; a missing series counts 0. */
export function parseJobCounters(text: string, prefix = 'podstore_worker_'): JobCounters {
  const counters = { ...NO_JOBS };
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line.trim());
    if (match === null) continue;
    const [, name, labels = '', raw] = match;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (name === `${prefix}processing_jobs_total`) {
      const result = /(?:^|,)\s*result="([^"]*)"/.exec(labels)?.[1];
      if (result === 'retry') counters.retries += value;
      else if ((FINAL_RESULTS as readonly string[]).includes(result ?? '')) counters.finished += value;
    } else if (name === `${prefix}processing_seconds_sum`) {
      counters.jobSeconds += value;
    } else if (name === `${prefix}processing_seconds_count`) {
      counters.jobs += value;
    }
  }
  return counters;
}

export function addCounters(a: JobCounters, b: JobCounters): JobCounters {
  return {
    finished: a.finished + b.finished,
    retries: a.retries + b.retries,
    jobSeconds: a.jobSeconds + b.jobSeconds,
    jobs: a.jobs + b.jobs,
  };
}

/** `now` minus `before`, worker by worker (a worker absent before started at 0). */
export function countersSince(before: JobCounters[], now: JobCounters[]): JobCounters {
  return now
    .map((n, i) => {
      const b = before[i] ?? NO_JOBS;
      return {
        finished: n.finished - b.finished,
        retries: n.retries - b.retries,
        jobSeconds: n.jobSeconds - b.jobSeconds,
        jobs: n.jobs - b.jobs,
      };
    })
    .reduce(addCounters, NO_JOBS);
}
