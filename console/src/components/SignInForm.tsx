import { useState } from 'preact/hooks';
import { accounts } from '../api/endpoints.ts';
import type { Credentials } from '../api/http.ts';
import { type ApiError, asApiError } from '../api/problem.ts';
import { ErrorNotice } from './ErrorNotice.tsx';

/** Signs in with a username and one of its tokens, checked by reading the account's profile. */
export function SignInForm({ onSignedIn }: { onSignedIn: (credentials: Credentials) => void }) {
  const [username, setUsername] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const credentials = { username: username.trim(), token: token.trim() };
    try {
      await accounts.profile(credentials);
      onSignedIn(credentials);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={submit} aria-labelledby="sign-in-title" class="card">
      <h2 id="sign-in-title">Sign in</h2>
      <label>
        Username
        <input
          name="username"
          autocomplete="username"
          required
          value={username}
          onInput={(e) => setUsername(e.currentTarget.value)}
        />
      </label>
      <label>
        Token
        <input
          name="token"
          type="password"
          autocomplete="current-password"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </label>
      <button type="submit" disabled={busy} aria-busy={busy}>
        {busy ? 'Signing in…' : 'Sign in'}
      </button>
      <ErrorNotice error={error} />
    </form>
  );
}
