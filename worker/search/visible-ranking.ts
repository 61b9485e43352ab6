/**
 * Ranking for a caller who may read only part of a pod. The engine's BM25 scores use statistics of the
 * whole pod (how many files hold a word), so a grantee comparing its own hits' scores, or their order,
 * could learn how often a word occurs in files it may not read. Its hits are therefore scored again from
 * what it may read alone: a word's weight is its inverse document frequency among the caller's readable
 * files that match, times the fields it matched in; a hit matching more of the query's words ranks higher.
 * Nothing of an unreadable file enters the score.
 */
import type { SearchResult } from 'minisearch';
import { FIELD_BOOSTS, type IndexedField } from './pod-index.ts';

/** A word matched only as a prefix of, or one typo away from, a query word counts this much. */
const INEXACT_WEIGHT = 0.5;

/**
 * Scores of `hits` (each readable by the caller) from their own matches only; `readableCount` is how
 * many indexed files the caller may read. Best first; ties by path.
 */
export function rankWithinReadable(
  hits: SearchResult[],
  readableCount: number,
  queryWords: ReadonlySet<string>,
): { result: SearchResult; score: number }[] {
  const documentFrequency = new Map<string, number>();
  for (const hit of hits) {
    for (const term of Object.keys(hit.match)) {
      documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1);
    }
  }
  const total = Math.max(readableCount, hits.length);
  const ranked = hits.map((result) => {
    let score = 0;
    for (const [term, fields] of Object.entries(result.match)) {
      const df = documentFrequency.get(term) ?? 1;
      const idf = Math.log(1 + (total - df + 0.5) / (df + 0.5));
      const fieldWeight = fields.reduce((sum, field) => sum + (FIELD_BOOSTS[field as IndexedField] ?? 1), 0);
      score += (queryWords.has(term) ? 1 : INEXACT_WEIGHT) * idf * fieldWeight;
    }
    return { result, score: score * new Set(result.queryTerms).size };
  });
  return ranked.sort((a, b) => b.score - a.score || (a.result.id < b.result.id ? -1 : 1));
}
