import { useCallback, useEffect, useState } from 'preact/hooks';
import { grants } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { normaliseFolderInput } from '../api/paths.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import { type GrantView, MODES, type Mode } from '../api/types.ts';
import { formatTime } from '../format.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

const MODE_HELP: Record<Mode, string> = {
  read: 'read files and list folders',
  append: 'add new files, never overwrite or delete',
  write: 'create, overwrite, edit tags and description',
  delete: 'delete files',
  control: 'grant and revoke the modes it holds',
};

/** Who has access to the pod: each grantee's scopes, modes and expiry; grant and revoke. */
export function GrantsPanel({ credentials }: { credentials: Credentials }) {
  const owner = credentials.username;
  const [list, setList] = useState<GrantView[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [grantee, setGrantee] = useState('');
  const [scope, setScope] = useState('/');
  const [modes, setModes] = useState<Mode[]>(['read']);
  const [expires, setExpires] = useState('');
  const [status, setStatus] = useState('');

  const reload = useCallback(async () => {
    try {
      setList(await grants.list(credentials, owner));
    } catch (err) {
      setError(asApiError(err));
    }
  }, [credentials, owner]);
  useEffect(() => void reload(), [reload]);

  const toggle = (mode: Mode, on: boolean) =>
    setModes((current) =>
      on ? [...current.filter((m) => m !== mode), mode] : current.filter((m) => m !== mode),
    );

  const grant = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setStatus('');
    const folder = normaliseFolderInput(scope);
    if ('error' in folder) {
      setStatus(`Scope: ${folder.error}.`);
      return;
    }
    const name = grantee.trim();
    try {
      await grants.put(credentials, owner, name, {
        scope: `/${folder.folder}`,
        modes: MODES.filter((m) => modes.includes(m)),
        ...(expires === '' ? {} : { expiresAt: new Date(expires).toISOString() }),
      });
      setStatus(`Granted ${modes.join(', ')} on /${folder.folder} to ${name}.`);
      await reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  const revoke = async (view: GrantView) => {
    if (!confirm(`Revoke every right of ${view.grantee} on your pod?`)) return;
    setError(null);
    try {
      await grants.revoke(credentials, owner, view.grantee);
      setStatus(`Revoked ${view.grantee}.`);
      await reload();
    } catch (err) {
      setError(asApiError(err));
    }
  };

  return (
    <section aria-labelledby="grants-title">
      <h2 id="grants-title">Who has access</h2>
      <form onSubmit={grant} class="card stack" aria-label="Grant access">
        <label>
          Grantee (username)
          <input name="grantee" required value={grantee} onInput={(e) => setGrantee(e.currentTarget.value)} />
        </label>
        <label>
          Scope (a folder; / is the whole pod)
          <input name="scope" required value={scope} onInput={(e) => setScope(e.currentTarget.value)} />
        </label>
        <fieldset>
          <legend>Modes</legend>
          {MODES.map((mode) => (
            <label key={mode} class="check">
              <input
                type="checkbox"
                name={`mode-${mode}`}
                checked={modes.includes(mode)}
                onChange={(e) => toggle(mode, e.currentTarget.checked)}
              />
              {mode} <span class="muted">— {MODE_HELP[mode]}</span>
            </label>
          ))}
        </fieldset>
        <label>
          Expires (optional)
          <input type="datetime-local" value={expires} onInput={(e) => setExpires(e.currentTarget.value)} />
        </label>
        <button type="submit">Grant</button>
      </form>
      {status !== '' && <p role="status">{status}</p>}
      <ErrorNotice error={error} />
      {list === null ? (
        <p aria-busy="true">Loading…</p>
      ) : list.length === 0 ? (
        <p class="muted">Nobody else has access to your pod.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="grants-list">
            <caption class="visually-hidden">Grants on your pod</caption>
            <thead>
              <tr>
                <th scope="col">Grantee</th>
                <th scope="col">Scope</th>
                <th scope="col">Modes</th>
                <th scope="col">Expires</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.flatMap((view) =>
                view.entries.map((entry, i) => (
                  <tr key={`${view.grantee} ${entry.scope}`} data-grantee={view.grantee}>
                    <td>{view.grantee}</td>
                    <td>
                      <code>{entry.scope}</code>
                    </td>
                    <td>{entry.modes.join(', ')}</td>
                    <td>{entry.expiresAt === undefined ? 'never' : formatTime(entry.expiresAt)}</td>
                    <td>
                      {i === 0 && (
                        <button type="button" class="danger" onClick={() => revoke(view)}>
                          Revoke<span class="visually-hidden"> {view.grantee}</span>
                        </button>
                      )}
                    </td>
                  </tr>
                )),
              )}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
