import { useCallback, useEffect, useState } from 'preact/hooks';
import { tokens } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { IssuedToken, TokenInfo } from '../api/types.ts';
import { formatTime } from '../format.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

/** The account's tokens: issue one with a label (its secret shown once), list them, revoke one. */
export function TokensPanel({ credentials }: { credentials: Credentials }) {
  const [list, setList] = useState<TokenInfo[] | null>(null);
  const [label, setLabel] = useState('');
  const [expires, setExpires] = useState('');
  const [issued, setIssued] = useState<IssuedToken | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const reload = useCallback(async () => {
    try {
      setList(await tokens.list(credentials));
    } catch (err) {
      setError(asApiError(err));
    }
  }, [credentials]);
  useEffect(() => void reload(), [reload]);

  const issue = async (event: Event) => {
    event.preventDefault();
    setError(null);
    try {
      setIssued(
        await tokens.issue(
          credentials,
          label.trim(),
          expires === '' ? null : new Date(expires).toISOString(),
        ),
      );
      setLabel('');
      setExpires('');
      await reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const revoke = async (token: TokenInfo) => {
    if (!confirm(`Revoke the token “${token.label ?? token.id}”? Anything using it stops at once.`)) return;
    setError(null);
    try {
      await tokens.revoke(credentials, token.id);
      await reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  return (
    <section aria-labelledby="tokens-title">
      <h2 id="tokens-title">Tokens</h2>
      <form onSubmit={issue} class="inline-form">
        <label>
          Label
          <input required maxLength={200} value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </label>
        <label>
          Expires (optional)
          <input type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <button type="submit">Create token</button>
      </form>
      {issued !== null && (
        <div class="notice" role="status">
          <p>New token “{issued.label}”: copy it now, it is not shown again.</p>
          <input readOnly value={issued.token} class="secret" aria-label="the new token" />
        </div>
      )}
      <ErrorNotice error={error} />
      {list === null ? (
        <p aria-busy="true">Loading…</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Your tokens</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((token) => (
                <tr key={token.id}>
                  <td>{token.label || <span class="muted">(no label)</span>}</td>
                  <td>{formatTime(token.createdAt)}</td>
                  <td>{formatTime(token.lastUsedAt)}</td>
                  <td>{formatTime(token.expiresAt)}</td>
                  <td>
                    <button type="button" class="danger" onClick={() => revoke(token)}>
                      Revoke<span class="visually-hidden"> {token.label ?? token.id}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
