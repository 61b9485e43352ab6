import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { audit } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { AuditEntry } from '../api/types.ts';
import { type AuditFilter, matchesAudit, NO_FILTER } from '../audit-filter.ts';
import { formatTime } from '../format.ts';
import { useLiveEvents } from '../live/use-live-events.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { LiveBadge } from './LiveBadge.tsx';

const PAGE_SIZE = 50;

/** The pod's audit log, newest first: who did what, when, allowed or refused; filtered, paginated, live. */
export function AuditLog({ credentials }: { credentials: Credentials }) {
  const owner = credentials.username;
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [filter, setFilter] = useState<AuditFilter>(NO_FILTER);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);

  const load = useCallback(async () => {
    try {
      const page = await audit.page(credentials, owner, undefined, PAGE_SIZE);
      setEntries(page.entries);
      setNext(page.next);
      setError(null);
    } catch (err) {
      setError(asApiError(err));
    }
  }, [credentials, owner]);
  useEffect(() => {
    void load();
    return () => {
      if (pending.current !== null) clearTimeout(pending.current);
    };
  }, [load]);

  // An event means something happened in the pod; its audit entry is written alongside: look again now
  // and a moment later.
  const live = useLiveEvents(credentials, owner, () => {
    void load();
    if (pending.current !== null) clearTimeout(pending.current);
    pending.current = setTimeout(() => void load(), 1000);
  });

  const loadMore = async () => {
    if (next === null) return;
    try {
      const page = await audit.page(credentials, owner, next, PAGE_SIZE);
      setEntries((current) => [...(current ?? []), ...page.entries]);
      setNext(page.next);
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const shown = entries?.filter((entry) => matchesAudit(entry, filter)) ?? [];
  return (
    <section aria-labelledby="audit-title">
      <div class="row">
        <h2 id="audit-title">Audit log</h2>
        <LiveBadge state={live.state} why={live.why} />
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </div>
      <form class="inline-form" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label>
          Actor
          <input
            value={filter.actor}
            onInput={(e) => setFilter({ ...filter, actor: e.currentTarget.value })}
          />
        </label>
        <label>
          Outcome
          <select
            value={filter.outcome}
            onChange={(e) =>
              setFilter({ ...filter, outcome: e.currentTarget.value as AuditFilter['outcome'] })
            }
          >
            <option value="all">all</option>
            <option value="allowed">allowed</option>
            <option value="refused">refused</option>
          </select>
        </label>
        <label>
          Action or path
          <input value={filter.text} onInput={(e) => setFilter({ ...filter, text: e.currentTarget.value })} />
        </label>
      </form>
      <ErrorNotice error={error} />
      {entries === null ? (
        error === null && <p aria-busy="true">Loading…</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="audit-log">
            <caption class="visually-hidden">Audit entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">Path</th>
                <th scope="col">Outcome</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((entry, i) => (
                <tr key={`${entry.time} ${entry.requestId ?? i}`} data-actor={entry.actor ?? ''}>
                  <td>{formatTime(entry.time)}</td>
                  <td>{entry.actor ?? 'anonymous'}</td>
                  <td>
                    {entry.action}
                    {entry.count !== undefined && entry.count > 1 ? ` (×${entry.count})` : ''}
                  </td>
                  <td>{entry.path === undefined ? '' : <code>{entry.path}</code>}</td>
                  <td class={entry.outcome === 'allowed' ? 'ok' : 'refused'}>{entry.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {shown.length === 0 && <p class="muted">No entry matches.</p>}
        </div>
      )}
      {next !== null && (
        <button type="button" onClick={loadMore}>
          Load older entries
        </button>
      )}
    </section>
  );
}
