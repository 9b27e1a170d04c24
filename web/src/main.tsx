import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { getOptional } from './api';
import { dropAllStreams } from './live';
import { ComparePage } from './pages/compare';
import { DatasetsPage } from './pages/datasets';
import { LivePage } from './pages/live';
import { NewJobPage } from './pages/new-job';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { Link, useLocation, type Location } from './router';
import './styles.css';

const uuid = /^\/runs\/([0-9a-f-]{36})$/i;

function Page({ location }: { location: Location }) {
  const { path, query } = location;
  if (path === '/' || path === '/runs') return <RunsPage query={query} />;
  if (path === '/runs/new') return <NewJobPage query={query} />;
  if (path === '/runs/compare') return <ComparePage query={query} />;
  if (path === '/runs/live') return <LivePage />;
  if (path === '/data') return <DatasetsPage />;
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

/** The datasets page appears once the API lists datasets (GET /datasets answers). */
function useDatasetsAvailable(): boolean {
  const [available, setAvailable] = useState(false);
  useEffect(() => {
    getOptional<unknown>('/datasets').then(
      (body) => setAvailable(body !== null),
      () => setAvailable(false),
    );
  }, []);
  return available;
}

function App() {
  const location = useLocation();
  const datasets = useDatasetsAvailable();
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
          <Link href="/runs/new" aria-current={current('/runs/new')}>
            New job
          </Link>
          {datasets && (
            <Link href="/data" aria-current={current('/data')}>
              Datasets
            </Link>
          )}
          <a href="/docs">API</a>
        </nav>
      </header>
      <main id="main" tabIndex={-1}>
        <Page location={location} />
      </main>
    </>
  );
}

// For tests and the benchmark: break every live connection as a network failure would.
(window as unknown as { trainer: object }).trainer = { dropAllStreams };

render(<App />, document.getElementById('app')!);
