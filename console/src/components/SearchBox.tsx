import { useState } from 'preact/hooks';
import { search } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { SearchHit, Snippet } from '../api/types.ts';
import { snippetPieces } from '../snippet.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

const RESULTS = 20;

interface Props {
  credentials: Credentials;
  /** The pod being viewed: its owner searches all of it, anyone else only what a grant lets them read. */
  owner: string;
  /** Opens a result (a file path): its folder, with the file's details. */
  onOpen: (path: string) => void;
}

/** The matched words of a snippet in <mark>, the rest as text: never parsed as markup. */
function SnippetText({ snippet }: { snippet: Snippet }) {
  return (
    <p class="snippet muted" data-testid="search-snippet">
      {snippet.field !== 'text' && <span>{snippet.field}: </span>}
      {snippetPieces(snippet).map((segment, i) =>
        segment.marked ? <mark key={i}>{segment.text}</mark> : <span key={i}>{segment.text}</span>,
      )}
    </p>
  );
}

/** A search field for the pod being viewed, and its results (best first) with their snippets. */
export function SearchBox({ credentials, owner, onOpen }: Props) {
  const [q, setQ] = useState('');
  const [hits, setHits] = useState<{ q: string; items: SearchHit[] } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const answer = await search.pod(credentials, owner, q, RESULTS);
      setHits({ q, items: answer.items });
    } catch (err) {
      setHits(null);
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <search class="search" data-testid="search">
      <form onSubmit={run} class="inline-form">
        <label>
          Search this pod
          <input
            type="search"
            name="q"
            value={q}
            maxLength={256}
            onInput={(e) => setQ(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={busy}>
          Search
        </button>
        {hits !== null && (
          <button type="button" onClick={() => setHits(null)}>
            Clear results
          </button>
        )}
      </form>
      <ErrorNotice error={error} />
      {hits !== null &&
        (hits.items.length === 0 ? (
          <p class="muted" role="status" data-testid="search-empty">
            Nothing found for “{hits.q}”{owner === credentials.username ? '' : ' in what you may read'}.
          </p>
        ) : (
          <ol class="search-results" aria-label={`Results for ${hits.q}`} data-testid="search-results">
            {hits.items.map((hit) => (
              <li key={hit.path} data-path={hit.path}>
                <button type="button" class="link" onClick={() => onOpen(hit.path)}>
                  {hit.name}
                </button>{' '}
                <span class="muted">/{hit.path}</span>
                {hit.snippet !== null && <SnippetText snippet={hit.snippet} />}
              </li>
            ))}
          </ol>
        ))}
    </search>
  );
}
