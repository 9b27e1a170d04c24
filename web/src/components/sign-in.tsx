import { useState } from 'preact/hooks';
import { createTrainerClient, settle, type Whoami } from '@trainer/client';
import { saveKey } from '../auth';
import type { Session } from '../session';

/** Asks the server who `key` is, without holding it yet: a refused key is never stored. */
async function check(key: string): Promise<{ whoami: Whoami } | { problem: string }> {
  const outcome = await settle(createTrainerClient({ baseUrl: location.origin, apiKey: key }).api.GET('/whoami'));
  if (outcome.ok) return { whoami: outcome.data };
  const { error } = outcome;
  if (error.status === null) return { problem: 'Could not reach the server. Check the connection and try again.' };
  if (error.status === 401)
    return {
      problem: `This key was refused (${error.message}). Check that it was copied whole, or ask an admin for a new one.`,
    };
  return { problem: error.message };
}

/** The key prompt: shown in place of the page whenever the API answers 401. */
export function SignIn({ reason, onSignedIn }: { reason: string | null; onSignedIn: (whoami: Whoami) => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const submit = async (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const entered = form.get('key');
    const key = typeof entered === 'string' ? entered.trim() : '';
    if (!key) {
      setProblem('Enter an API key.');
      return;
    }
    setChecking(true);
    const answer = await check(key);
    setChecking(false);
    if ('problem' in answer) {
      setProblem(answer.problem);
      return;
    }
    saveKey(key, form.get('remember') === 'on');
    onSignedIn(answer.whoami);
    // The form goes away with the focus in it: keyboard users continue from the page's start.
    document.getElementById('main')?.focus();
  };
  return (
    <section class="sign-in" aria-labelledby="sign-in-heading">
      <h1 id="sign-in-heading">Sign in</h1>
      <p>
        This server needs an API key. An admin makes one with <code>POST /keys</code> or <code>npm run keys</code>.
      </p>
      {reason && <p class="notice">The key in use stopped working ({reason}). Enter another.</p>}
      <form onSubmit={(event) => void submit(event)} noValidate>
        <div class="field">
          <label for="api-key">API key</label>
          <input
            id="api-key"
            name="key"
            type="password"
            autoComplete="off"
            spellcheck={false}
            autoFocus
            aria-invalid={problem ? 'true' : undefined}
            aria-describedby="sign-in-problem sign-in-storage"
          />
        </div>
        <label class="inline">
          <input type="checkbox" name="remember" /> Remember on this device
        </label>
        <p id="sign-in-storage" class="small muted">
          Unticked, the key is kept for this browser tab's session only and forgotten when it closes.
        </p>
        <p id="sign-in-problem" role="alert" class="error">
          {problem}
        </p>
        <button type="submit" class="primary" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}

/** Who the dashboard acts as, in the header, with the way out. */
export function SessionBadge({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  if (session.state !== 'signed-in') return null;
  const { whoami } = session;
  if (whoami.auth === 'off') return <span class="session small">local, no sign-in</span>;
  return (
    <div class="session" data-owner={whoami.owner} data-role={whoami.role}>
      <span class="small">
        <span class="visually-hidden">Signed in as </span>
        <strong>{whoami.owner}</strong> <span class="badge role">{whoami.role}</span>
      </span>
      <button type="button" class="small-button" onClick={onSignOut}>
        Sign out / change key
      </button>
    </div>
  );
}
