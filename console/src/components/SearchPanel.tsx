import { useState } from 'preact/hooks';
import { search } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { SearchHit } from '../api/types.ts';
import { formatTime } from '../format.ts';
import { snippetPieces } from '../snippet.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

/**
 * Search a pod by the words of its files and their metadata: one's own pod, or a pod shared with one
 * (only what the grant lets one read; the API decides). Snippets are rendered as text, their matched
 * words in <mark>.
 */
export function SearchPanel({ credentials }: { credentials: Credentials }) {
  const [owner, setOwner] = useState(credentials.username);
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const run = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      setHits((await search.pod(credentials, owner.trim(), q)).items);
    } catch (err) {
      setHits(null);
      setError(asApiError(err));
    }
  };

  return (
    <section aria-labelledby="search-title">
      <h2 id="search-title">Search</h2>
      <search>
        <form onSubmit={run} class="inline-form">
          <label>
            Pod
            <input
              name="search-owner"
              required
              value={owner}
              onInput={(e) => setOwner(e.currentTarget.value)}
            />
          </label>
          <label>
            Words
            <input
              name="search-q"
              type="search"
              required
              maxLength={256}
              value={q}
              onInput={(e) => setQ(e.currentTarget.value)}
            />
          </label>
          <button type="submit">Search</button>
        </form>
      </search>
      <ErrorNotice error={error} />
      {hits !== null && hits.length === 0 && <p class="muted">Nothing found.</p>}
      {hits !== null && hits.length > 0 && (
        <ol class="search-hits" data-testid="search-hits">
          {hits.map((hit) => (
            <li key={hit.path}>
              <code>{hit.path}</code>{' '}
              <span class="muted">
                {hit.contentType}, {hit.size} bytes, {formatTime(hit.updatedAt)}
                {hit.author !== null && hit.author !== owner.trim() ? `, by ${hit.author}` : ''}
              </span>
              {hit.snippet !== null && (
                <p>
                  {snippetPieces(hit.snippet).map((piece, i) =>
                    piece.marked ? <mark key={i}>{piece.text}</mark> : <span key={i}>{piece.text}</span>,
                  )}
                </p>
              )}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
