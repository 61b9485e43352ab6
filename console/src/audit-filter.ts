/** The audit view's filter, applied to the entries loaded so far (the API pages, newest first). */
import type { AuditEntry } from './api/types.ts';

export interface AuditFilter {
  /** Part of the actor's name; '' for anyone. */
  actor: string;
  outcome: 'all' | 'allowed' | 'refused';
  /** Part of the action or the path; '' for any. */
  text: string;
}

export const NO_FILTER: AuditFilter = { actor: '', outcome: 'all', text: '' };

export function matchesAudit(entry: AuditEntry, filter: AuditFilter): boolean {
  const actor = filter.actor.trim().toLowerCase();
  if (actor !== '' && !(entry.actor ?? 'anonymous').toLowerCase().includes(actor)) return false;
  if (filter.outcome === 'allowed' && entry.outcome !== 'allowed') return false;
  if (filter.outcome === 'refused' && entry.outcome === 'allowed') return false;
  const text = filter.text.trim().toLowerCase();
  if (text !== '' && !`${entry.action} ${entry.path ?? ''}`.toLowerCase().includes(text)) return false;
  return true;
}
