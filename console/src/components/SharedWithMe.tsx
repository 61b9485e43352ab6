import { useState } from 'preact/hooks';
import { grants } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import type { GrantView } from '../api/types.ts';
import { formatTime } from '../format.ts';
import { ErrorNotice } from './ErrorNotice.tsx';
import { FolderBrowser } from './FolderBrowser.tsx';

interface OpenedPod {
  owner: string;
  grant: GrantView;
}

/**
 * Pods shared with me: name an owner, see what that owner granted me (modes, scope, expiry), and work in
 * a scope — only as far as the grant allows (the API decides; the console shows its refusals).
 */
export function SharedWithMe({ credentials }: { credentials: Credentials }) {
  const [owner, setOwner] = useState('');
  const [pods, setPods] = useState<OpenedPod[]>([]);
  const [browsing, setBrowsing] = useState<{ owner: string; folder: string } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const look = async (event: Event) => {
    event.preventDefault();
    setError(null);
    const name = owner.trim();
    try {
      const grant = await grants.get(credentials, name, credentials.username);
      setPods((current) => [{ owner: name, grant }, ...current.filter((p) => p.owner !== name)]);
      setOwner('');
    } catch (err) {
      setError(asApiError(err));
    }
  };

  return (
    <section aria-labelledby="shared-title">
      <h2 id="shared-title">Pods shared with me</h2>
      <form onSubmit={look} class="inline-form">
        <label>
          Owner of the pod
          <input
            name="shared-owner"
            required
            value={owner}
            onInput={(e) => setOwner(e.currentTarget.value)}
          />
        </label>
        <button type="submit">Show my access</button>
      </form>
      <ErrorNotice error={error} />
      {pods.map((pod) => (
        <div class="card" key={pod.owner}>
          <h3>{pod.owner}</h3>
          <ul>
            {pod.grant.entries.map((entry) => (
              <li key={entry.scope}>
                <code>{entry.scope}</code>: {entry.modes.join(', ')}
                {entry.expiresAt === undefined ? '' : `, until ${formatTime(entry.expiresAt)}`}{' '}
                <button
                  type="button"
                  onClick={() => setBrowsing({ owner: pod.owner, folder: entry.scope.replace(/^\//, '') })}
                >
                  Open {entry.scope}
                  <span class="visually-hidden"> of {pod.owner}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
      {browsing !== null && (
        <FolderBrowser
          key={`${browsing.owner} ${browsing.folder}`}
          credentials={credentials}
          owner={browsing.owner}
          startFolder={browsing.folder}
        />
      )}
    </section>
  );
}
