/** The worker's Prometheus metrics, on a registry of its own. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createWorkerMetrics(registry = new Registry()) {
  const prefix = 'podstore_worker_';
  return {
    registry,
    commands: new Counter({
      name: `${prefix}commands_total`,
      help: 'Commands executed, by command and outcome code',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: `${prefix}command_seconds`,
      help: 'Command execution time',
      labelNames: ['command'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: `${prefix}in_flight`, help: 'Commands running now', registers: [registry] }),
    streamsInFlight: new Gauge({
      name: `${prefix}streams_in_flight`,
      help: 'Uploads and downloads running now',
      registers: [registry],
    }),
    deadlineAbandoned: new Counter({
      name: `${prefix}deadline_abandoned_total`,
      help: 'Commands still running when their deadline passed (answered timeout, streams stopped)',
      registers: [registry],
    }),
    recordCache: new Counter({
      name: `${prefix}record_cache_reads_total`,
      help: 'Reads of a pod file record: answered from memory (hit), read from the store by the pod home (miss), or by a command the broker did not let use memory (shared)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    storageRequests: new Counter({
      name: `${prefix}storage_requests_total`,
      help: 'Requests to the object store, by operation (get, put, head, list, putStream, ...)',
      labelNames: ['op'],
      registers: [registry],
    }),
    orphanBlobsRemoved: new Counter({
      name: `${prefix}orphan_blobs_removed_total`,
      help: 'Blobs that dead workers left behind, removed by this worker’s sweeps',
      registers: [registry],
    }),
    expiredUploadsRemoved: new Counter({
      name: `${prefix}expired_uploads_removed_total`,
      help: 'Resumable uploads past their expiry, removed with their bytes by this worker’s sweeps',
      registers: [registry],
    }),
    processingBackfilled: new Counter({
      name: `${prefix}processing_backfill_requeued_total`,
      help: 'Processing jobs asked for again by this worker’s walk over every pod (file versions without a status)',
      registers: [registry],
    }),
    processingJobs: new Counter({
      name: `${prefix}processing_jobs_total`,
      help: 'File-processing jobs by result (processed, indexed, removed, account-gone, retry, gave-up)',
      labelNames: ['result'],
      registers: [registry],
    }),
    processingSeconds: new Histogram({
      name: `${prefix}processing_seconds`,
      help: 'How long one file-processing job ran',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    processingLag: new Histogram({
      name: `${prefix}processing_lag_seconds`,
      help: 'From a file change to the start of its processing job',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    auditOwed: new Counter({
      name: `${prefix}audit_writes_owed_total`,
      help: 'Audit entries whose write failed, by what became of them (retrying, written on a later try, lost)',
      labelNames: ['result'],
      registers: [registry],
    }),
    storageUp: new Gauge({
      name: `${prefix}storage_up`,
      help: '1 while the object store answers its health check, else 0',
      registers: [registry],
    }),
    idempotency: new Counter({
      name: `${prefix}idempotency_keys_total`,
      help: 'POSTs with an Idempotency-Key, by result (new, replayed, mismatch, in_progress, taken_over)',
      labelNames: ['result'],
      registers: [registry],
    }),
    erasures: {
      pending: new Gauge({
        name: `${prefix}erasures_pending`,
        help: 'Account erasures not yet complete, as seen at this worker’s last scan',
        registers: [registry],
      }),
      running: new Gauge({
        name: `${prefix}erasures_running`,
        help: 'Account erasures this worker runs now',
        registers: [registry],
      }),
      completed: new Counter({
        name: `${prefix}erasures_completed_total`,
        help: 'Account erasures this worker completed (nothing of the account left, the name free again)',
        registers: [registry],
      }),
      resumed: new Counter({
        name: `${prefix}erasures_resumed_total`,
        help: 'Account erasures this worker took over from a worker that stopped or died',
        registers: [registry],
      }),
      objectsRemoved: new Counter({
        name: `${prefix}erasure_objects_removed_total`,
        help: 'Objects of erased accounts removed by this worker',
        registers: [registry],
      }),
    },
    sendFailures: new Counter({
      name: `${prefix}send_failures_total`,
      help: 'Messages to the broker that could not be sent (socket closed or full past the send timeout)',
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
