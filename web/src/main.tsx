import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, optional, prefetch, unwrap } from './api';
import { SessionBadge, SignIn } from './components/sign-in';
import { whenIdle } from './capabilities';
import { dropAllStreams } from './live';
import { lazyPage } from './lazy';
import { prefetchRun } from './pages/run/reads';
import { prefetchRuns, RunsPage } from './pages/runs';
import { Link, useLocation, type Location } from './router';
import { useSession, WhoamiProvider, type Session } from './session';
import './styles.css';

// The runs page comes with the first script; the others (and the chart library) load when visited.
const RunPage = lazyPage(() => import('./pages/run').then((module) => module.RunPage));
const ComparePage = lazyPage(() => import('./pages/compare').then((module) => module.ComparePage));
const NewJobPage = lazyPage(() => import('./pages/new-job').then((module) => module.NewJobPage));
const LivePage = lazyPage(() => import('./pages/live').then((module) => module.LivePage));
const DatasetsPage = lazyPage(() => import('./pages/datasets').then((module) => module.DatasetsPage));
const SweepsPage = lazyPage(() => import('./pages/sweeps').then((module) => module.SweepsPage));
const SweepPage = lazyPage(() => import('./pages/sweep').then((module) => module.SweepPage));
const WebhooksPage = lazyPage(() => import('./pages/webhooks').then((module) => module.WebhooksPage));
const WebhookPage = lazyPage(() => import('./pages/webhook').then((module) => module.WebhookPage));

const uuid = /^\/runs\/([0-9a-f-]{36})$/i;
// GET /sweeps and /sweeps/:id are the API's, so the sweep pages live under /runs (as /runs/compare does).
const sweepPath = /^\/runs\/sweeps\/([0-9a-f-]{36})$/i;
// GET /webhooks and /webhooks/:id are the API's too: their pages are /hooks and /hooks/:id (as /data is).
const webhookPath = /^\/hooks\/([0-9a-f-]{36})$/i;

function Page({ location }: { location: Location }) {
  const { path, query } = location;
  if (path === '/' || path === '/runs') return <RunsPage query={query} />;
  if (path === '/runs/new') return <NewJobPage query={query} />;
  if (path === '/runs/compare') return <ComparePage query={query} />;
  if (path === '/runs/live') return <LivePage />;
  if (path === '/data') return <DatasetsPage />;
  if (path === '/runs/sweeps') return <SweepsPage query={query} />;
  if (path === '/hooks') return <WebhooksPage />;
  const webhook = webhookPath.exec(path);
  if (webhook?.[1]) return <WebhookPage key={webhook[1]} id={webhook[1].toLowerCase()} />;
  const sweep = sweepPath.exec(path);
  if (sweep?.[1]) return <SweepPage key={sweep[1]} id={sweep[1].toLowerCase()} />;
  const run = uuid.exec(path);
  if (run?.[1]) return <RunPage key={run[1]} id={run[1].toLowerCase()} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link href="/runs">See the runs</Link>.
      </p>
    </section>
  );
}

/** The datasets page appears once the API lists datasets (GET /datasets answers), asked again at each sign-in. */
function useDatasetsAvailable(signedIn: number | null): boolean {
  const [available, setAvailable] = useState(false);
  useEffect(() => {
    if (signedIn === null) return;
    return whenIdle(() => {
      optional(api.GET('/datasets')).then(
        (body) => setAvailable(body !== null),
        () => setAvailable(false),
      );
    });
  }, [signedIn]);
  return available;
}

/** The page, once the session is known; the key prompt instead while the API wants a key. */
function Content({
  session,
  location,
  version,
  onSignedIn,
}: {
  session: Session;
  location: Location;
  version: number;
  onSignedIn: Parameters<typeof SignIn>[0]['onSignedIn'];
}) {
  if (session.state === 'checking') return <p aria-busy="true">Loading…</p>;
  if (session.state === 'needs-key') return <SignIn reason={session.reason} onSignedIn={onSignedIn} />;
  if (session.state === 'unreachable')
    return <p class="error">Could not reach the API ({session.message}). Reload to try again.</p>;
  return (
    <WhoamiProvider value={session.whoami}>
      <Page key={version} location={location} />
    </WhoamiProvider>
  );
}

function App() {
  const location = useLocation();
  const { session, version, signedIn, signOut } = useSession();
  const datasets = useDatasetsAvailable(session.state === 'signed-in' ? version : null);
  const mayWrite = session.state === 'signed-in' && session.whoami.role !== 'viewer';
  const current = (href: string) => (location.path === href ? 'page' : undefined);
  useEffect(() => {
    const title = document.querySelector('h1')?.textContent;
    document.title = title ? `${title} · trainer` : 'trainer';
  });
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <Link href="/runs" class="brand">
          trainer
        </Link>
        <nav aria-label="Pages">
          <Link href="/runs" aria-current={current('/runs') ?? current('/')}>
            Runs
          </Link>
          <Link href="/runs/live" aria-current={current('/runs/live')}>
            Live
          </Link>
          <Link href="/runs/sweeps" aria-current={location.path.startsWith('/runs/sweeps') ? 'page' : undefined}>
            Sweeps
          </Link>
          {mayWrite && (
            <Link href="/runs/new" aria-current={current('/runs/new')}>
              New job
            </Link>
          )}
          {datasets && (
            <Link href="/data" aria-current={current('/data')}>
              Datasets
            </Link>
          )}
          <Link href="/hooks" aria-current={location.path.startsWith('/hooks') ? 'page' : undefined}>
            Webhooks
          </Link>
          <a href="/docs">API</a>
        </nav>
        <SessionBadge session={session} onSignOut={signOut} />
      </header>
      <main id="main" tabIndex={-1}>
        <Content session={session} location={location} version={version} onSignedIn={signedIn} />
      </main>
    </>
  );
}

// For tests and the benchmark: break every live connection as a network failure would.
(window as unknown as { trainer: object }).trainer = { dropAllStreams };

// What the first page shows is asked for before its code has loaded.
prefetch('/whoami', () => unwrap(api.GET('/whoami')));
const firstRun = uuid.exec(location.pathname)?.[1]?.toLowerCase();
if (location.pathname === '/' || location.pathname === '/runs') prefetchRuns(new URLSearchParams(location.search));
else if (firstRun) {
  prefetchRun(firstRun);
  RunPage.preload();
}
render(<App />, document.getElementById('app')!);
