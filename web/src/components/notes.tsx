/** Small shared pieces: an error as the API told it, and an empty state that says what to do. */
import type { ComponentChildren } from 'preact';
import type { ApiError } from '../api.ts';

export function ErrorNote({ error, prefix }: { error: ApiError | Error | undefined; prefix?: string }) {
  if (!error) return null;
  const code = 'code' in error && error.code !== 'ERROR' ? error.code : undefined;
  return (
    <p class="note note-error" role="alert">
      {prefix ? <strong>{prefix} </strong> : null}
      {error.message}
      {code ? <code class="code">{code}</code> : null}
    </p>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children ? <p class="empty-hint">{children}</p> : null}
    </div>
  );
}
