import type { ApiError } from '../api/problem.ts';

/** A refusal as the API explained it: its detail, and the request id to quote to an operator. */
export function ErrorNotice({ error }: { error: ApiError | null }) {
  if (error === null) return null;
  return (
    <div class="error" role="alert">
      <p>{error.detail}</p>
      {error.requestId !== null && (
        <p class="muted">
          request id: <code>{error.requestId}</code>
        </p>
      )}
    </div>
  );
}
