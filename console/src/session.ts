/**
 * Where the signed-in token lives: in memory, and in this tab's sessionStorage so that a reload keeps
 * the session (gone when the tab closes). Never in a URL, a cookie or localStorage.
 */
import type { Credentials } from './api/http.ts';

const KEY = 'podstore.session';

export function loadSession(): Credentials | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (raw === null) return null;
    const parsed = JSON.parse(raw) as Partial<Credentials>;
    if (typeof parsed.username === 'string' && typeof parsed.token === 'string') {
      return { username: parsed.username, token: parsed.token };
    }
  } catch {
    // storage off (private mode) or garbage: start signed out
  }
  return null;
}

export function saveSession(credentials: Credentials): void {
  try {
    sessionStorage.setItem(KEY, JSON.stringify(credentials));
  } catch {
    // kept in memory only
  }
}

export function clearSession(): void {
  try {
    sessionStorage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}
