import type { JobStatus } from '@trainer/client';
import type { Connection } from '../live';

export function StatusBadge({ status }: { status: JobStatus }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

const connectionText: Record<Connection, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  closed: '',
};

/** The state of a page's live connection; "reconnecting" while a broken WebSocket is being reopened. */
export function ConnectionBadge({ state }: { state: Connection }) {
  return (
    <span class={`connection connection-${state}`} role="status" aria-live="polite" data-connection={state}>
      {connectionText[state]}
    </span>
  );
}
