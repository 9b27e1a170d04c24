import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import type { Whoami } from '@trainer/client';
import { api, early, TrainerApiError, unwrap } from './api';
import { forgetKey, onKeyRefused } from './auth';

// Who the dashboard acts as (GET /whoami), and what that role may do. The API decides every request
// (src/api/http/access-control.ts); the dashboard only hides what would be refused anyway.

export type Session =
  | { state: 'checking' }
  | { state: 'signed-in'; whoami: Whoami }
  /** `reason`: why a key the dashboard held stopped working; null on first visit or after signing out. */
  | { state: 'needs-key'; reason: string | null }
  | { state: 'unreachable'; message: string };

/** Servers from before access control have no /whoami: they ask for no key and let everyone do everything. */
const noAccessControl: Whoami = { owner: 'local', role: 'admin', auth: 'off' };

/** The session of the App: asks /whoami once, then follows 401s and sign-ins. */
export function useSession() {
  const [session, setSession] = useState<Session>({ state: 'checking' });
  // Bumped at each sign-in: the page is shown anew, so everything it loads is asked with the new key.
  const [version, setVersion] = useState(0);
  useEffect(() => onKeyRefused((reason) => setSession({ state: 'needs-key', reason })), []);
  useEffect(() => {
    early('/whoami', () => unwrap(api.GET('/whoami'))).then(
      (whoami) => setSession({ state: 'signed-in', whoami }),
      (failure: unknown) => {
        // onKeyRefused has it, with the reason, unless the answer came before the page listened.
        if (failure instanceof TrainerApiError && failure.status === 401)
          setSession((current) => (current.state === 'checking' ? { state: 'needs-key', reason: null } : current));
        else if (failure instanceof TrainerApiError && failure.status === 404)
          setSession({ state: 'signed-in', whoami: noAccessControl });
        else
          setSession({ state: 'unreachable', message: failure instanceof Error ? failure.message : String(failure) });
      },
    );
  }, []);
  return {
    session,
    version,
    signedIn: (whoami: Whoami) => {
      setSession({ state: 'signed-in', whoami });
      setVersion((current) => current + 1);
    },
    signOut: () => {
      forgetKey();
      setSession({ state: 'needs-key', reason: null });
    },
  };
}

// Fails closed: a component shown outside the provider may do nothing.
const WhoamiContext = createContext<Whoami>({ owner: '', role: 'viewer', auth: 'required' });
export const WhoamiProvider = WhoamiContext.Provider;

/** What the session's role may do, as src/domain/access.ts decides it on the server. */
export interface Permissions {
  owner: string;
  role: Whoami['role'];
  /** Submit, cancel and delete jobs, upload and delete datasets (a member: its own owner's only). */
  write: boolean;
  /** Everything, every owner's. */
  admin: boolean;
  /** Whether the server checks keys at all (with AUTH=off there is one owner, `local`). */
  auth: Whoami['auth'];
}

export function usePermissions(): Permissions {
  const { owner, role, auth } = useContext(WhoamiContext);
  return { owner, role, auth, write: role === 'member' || role === 'admin', admin: role === 'admin' };
}
