import { useState } from 'preact/hooks';
import { accounts } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

/** Creates an account; shows its first token once (it is never shown again), then signs in with it. */
export function SignUpForm({ onSignedIn }: { onSignedIn: (credentials: Credentials) => void }) {
  const [username, setUsername] = useState('');
  const [kind, setKind] = useState<'person' | 'organization'>('person');
  const [displayName, setDisplayName] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<Credentials | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const name = username.trim();
      const result = await accounts.signUp(name, kind, displayName === '' ? {} : { name: displayName });
      setCreated({ username: result.username, token: result.token });
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  if (created !== null) {
    return (
      <section class="card" aria-labelledby="token-once-title">
        <h2 id="token-once-title">Account {created.username} created</h2>
        <p>
          This is your token. Keep it somewhere safe: it is shown this once, and it is the only way to sign
          in.
        </p>
        <label>
          Your token
          <input readOnly value={created.token} class="secret" data-testid="new-account-token" />
        </label>
        <button type="button" onClick={() => onSignedIn(created)}>
          Continue to my pod
        </button>
      </section>
    );
  }

  return (
    <form onSubmit={submit} aria-labelledby="sign-up-title" class="card">
      <h2 id="sign-up-title">Create an account</h2>
      <label>
        Username
        <input
          name="new-username"
          required
          minLength={2}
          maxLength={63}
          pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?"
          aria-describedby="username-rule"
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
      </label>
      <p id="username-rule" class="muted">
        2 to 63 lower-case letters, digits and “-”.
      </p>
      <label>
        Display name (optional)
        <input
          name="display-name"
          value={displayName}
          onInput={(e) => setDisplayName(e.currentTarget.value)}
        />
      </label>
      <label>
        Account kind
        <select
          name="kind"
          value={kind}
          onChange={(e) => setKind(e.currentTarget.value === 'organization' ? 'organization' : 'person')}
        >
          <option value="person">a person</option>
          <option value="organization">an organisation</option>
        </select>
      </label>
      <button type="submit" disabled={busy} aria-busy={busy}>
        {busy ? 'Creating…' : 'Create account'}
      </button>
      <ErrorNotice error={error} />
    </form>
  );
}
