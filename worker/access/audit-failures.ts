/**
 * What the worker does when an audit entry's write fails: logs it with the whole entry (so the log holds
 * it even if it is finally lost) and counts it in `podstore_worker_audit_writes_owed_total{result}`.
 */
import type { Counter } from 'prom-client';
import type { Logger } from '../../runtime/logger.ts';
import type { AuditFailureReporter } from './audit-log.ts';

export function auditFailureReporter(logger: Logger, owed: Counter<'result'>): AuditFailureReporter {
  return (event, { owner, entry, time }, error) => {
    owed.inc({ result: event });
    const fields = { owner, entry: { time: time.toISOString(), ...entry }, err: errorText(error) };
    if (event === 'retrying') logger.warn(fields, 'audit entry not written; it will be tried again');
    else if (event === 'written')
      logger.info({ owner, requestId: entry.requestId }, 'owed audit entry written');
    else logger.error(fields, 'audit entry lost: its write kept failing (the entry is in this log line)');
  };
}

function errorText(error: unknown): string | undefined {
  if (error === undefined) return undefined;
  return error instanceof Error ? error.message : String(error);
}
