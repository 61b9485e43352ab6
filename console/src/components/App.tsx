import { useEffect, useRef, useState } from 'preact/hooks';
import type { Credentials } from '../api/http.ts';
import { clearSession, loadSession, saveSession } from '../session.ts';
import { AuditLog } from './AuditLog.tsx';
import { FolderBrowser } from './FolderBrowser.tsx';
import { GrantsPanel } from './GrantsPanel.tsx';
import { SearchPanel } from './SearchPanel.tsx';
import { SharedWithMe } from './SharedWithMe.tsx';
import { SignInForm } from './SignInForm.tsx';
import { SignUpForm } from './SignUpForm.tsx';
import { TokensPanel } from './TokensPanel.tsx';

const VIEWS = [
  { id: 'files', label: 'Files' },
  { id: 'search', label: 'Search' },
  { id: 'access', label: 'Access' },
  { id: 'audit', label: 'Audit log' },
  { id: 'shared', label: 'Shared with me' },
  { id: 'tokens', label: 'Tokens' },
] as const;
type View = (typeof VIEWS)[number]['id'];

/** Signed out: sign in or sign up. Signed in: the views of the pod, and sign out. */
export function App() {
  const [credentials, setCredentials] = useState<Credentials | null>(loadSession);
  const [view, setView] = useState<View>('files');
  const main = useRef<HTMLElement>(null);
  const switched = useRef(false);
  // After choosing a view (not on first load), focus moves to its content, as a page change would.
  useEffect(() => {
    if (switched.current) main.current?.focus();
  }, [view]);
  const show = (next: View) => {
    switched.current = true;
    setView(next);
  };

  const signIn = (next: Credentials) => {
    saveSession(next);
    setCredentials(next);
    setView('files');
  };
  const signOut = () => {
    clearSession();
    setCredentials(null);
  };

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="top">
        <h1>podstore</h1>
        {credentials !== null && (
          <div class="row">
            <span>
              Signed in as <strong data-testid="signed-in-as">{credentials.username}</strong>
            </span>
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </div>
        )}
      </header>
      {credentials !== null && (
        <nav aria-label="Views" class="views">
          {VIEWS.map((v) => (
            <button
              type="button"
              key={v.id}
              aria-current={view === v.id ? 'page' : undefined}
              onClick={() => show(v.id)}
            >
              {v.label}
            </button>
          ))}
        </nav>
      )}
      <main id="main" tabIndex={-1} ref={main}>
        {credentials === null ? (
          <div class="auth">
            <SignInForm onSignedIn={signIn} />
            <SignUpForm onSignedIn={signIn} />
          </div>
        ) : view === 'files' ? (
          <FolderBrowser key={credentials.username} credentials={credentials} owner={credentials.username} />
        ) : view === 'search' ? (
          <SearchPanel credentials={credentials} />
        ) : view === 'access' ? (
          <GrantsPanel credentials={credentials} />
        ) : view === 'audit' ? (
          <AuditLog credentials={credentials} />
        ) : view === 'shared' ? (
          <SharedWithMe credentials={credentials} />
        ) : (
          <TokensPanel credentials={credentials} />
        )}
      </main>
    </>
  );
}
