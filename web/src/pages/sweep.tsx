import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { ConnectionBadge, StatusBadge } from '../components/badges';
import { ParallelCoordinates } from '../components/parallel-coordinates';
import { SweepCounts, SweepProgress } from '../components/sweep-counts';
import { dateTime, integer, shortId } from '../format';
import { goodness, goodnessColour } from '../parallel-axes';
import { Link } from '../router';
import {
  cancelSweep,
  objectiveLabel,
  objectiveText,
  parameterText,
  type LeaderboardEntry,
  type SweepParameter,
  type SweepView,
} from '../sweep-api';
import { useLiveSweep } from '../sweep-live';
import { usePermissions } from '../session';
import '../sweeps.css';

/** How many of the best runs "Compare top runs" opens (the compare page takes 2 to 20). */
const compareTop = 5;

/** The swept parameters in the spec's order, with their definitions. */
function sweptParameters(sweep: SweepView): [string, SweepParameter | undefined][] {
  const fromSpec = Object.entries(sweep.spec.parameters ?? {});
  if (fromSpec.length > 0) return fromSpec;
  return sweep.parameterSpread.map((spread) => [spread.parameter, undefined]);
}

function BestRun({ sweep }: { sweep: SweepView }) {
  const best = sweep.best;
  if (!best) return <p class="muted">No run has reached the objective yet.</p>;
  return (
    <div class="best-run" data-best={best.jobId}>
      <p>
        <strong>{objectiveText(sweep.objective, best.objective)}</strong> {sweep.objective.metric} at epoch {best.epoch}{' '}
        by <Link href={`/runs/${best.jobId}`}>run {shortId(best.jobId)}</Link> (configuration {best.index + 1})
      </p>
      <dl class="facts compact">
        {Object.entries(best.parameters).map(([path, value]) => (
          <Fragment key={path}>
            <dt class="mono">{path}</dt>
            <dd>{parameterText(value)}</dd>
          </Fragment>
        ))}
      </dl>
    </div>
  );
}

function Facts({ sweep }: { sweep: SweepView }) {
  const saved = sweep.epochs.planned > 0 ? 1 - sweep.epochs.trained / sweep.epochs.planned : 0;
  return (
    <dl class="facts">
      <dt>Status</dt>
      <dd>
        <StatusBadge status={sweep.status} />
      </dd>
      <dt>Objective</dt>
      <dd>{objectiveLabel(sweep.objective)}</dd>
      <dt>Runs</dt>
      <dd>
        <SweepProgress sweep={sweep} />
        <SweepCounts sweep={sweep} />
      </dd>
      <dt>Method</dt>
      <dd>
        {sweep.method}
        {typeof sweep.spec.maxParallel === 'number' && `, ${sweep.spec.maxParallel} at a time`}
      </dd>
      <dt>Epochs</dt>
      <dd>
        {integer(sweep.epochs.trained)} of {integer(sweep.epochs.planned)} planned
        {saved > 0 && sweep.status !== 'running' && ` (${Math.round(saved * 100)}% saved)`}
      </dd>
      <dt>Created</dt>
      <dd>{dateTime(sweep.createdAt)}</dd>
      {sweep.finishedAt && (
        <>
          <dt>Finished</dt>
          <dd>{dateTime(sweep.finishedAt)}</dd>
        </>
      )}
    </dl>
  );
}

interface LeaderboardProps {
  sweep: SweepView;
  parameters: string[];
  focused: string | null;
  onFocus: (jobId: string | null) => void;
}

function LeaderboardRow({
  sweep,
  parameters,
  entry,
  focused,
  onFocus,
  colour,
}: LeaderboardProps & { entry: LeaderboardEntry; colour: string }) {
  return (
    <tr
      data-run={entry.jobId}
      class={focused === entry.jobId ? 'focused' : ''}
      onMouseEnter={() => onFocus(entry.jobId)}
      onMouseLeave={() => onFocus(null)}
      onFocusIn={() => onFocus(entry.jobId)}
      onFocusOut={() => onFocus(null)}
    >
      <td class="num">{entry.rank}</td>
      <th scope="row">
        <span class="swatch" style={{ background: colour }} />
        <Link
          href={`/runs/${entry.jobId}`}
          aria-label={`run ${shortId(entry.jobId)}, configuration ${entry.index + 1}`}
        >
          {shortId(entry.jobId)}
        </Link>
      </th>
      <td>
        <StatusBadge status={entry.status} />
      </td>
      {parameters.map((path) => (
        <td key={path} class="num">
          {parameterText(entry.parameters[path])}
        </td>
      ))}
      <td class="num objective" data-objective={entry.objective ?? ''}>
        {objectiveText(sweep.objective, entry.objective)}
      </td>
      <td class="num">{entry.epoch ?? '–'}</td>
      <td class="num">{entry.epochsCompleted}</td>
      <td class="small muted stopped">{entry.stoppedReason ?? ''}</td>
    </tr>
  );
}

function Leaderboard(props: LeaderboardProps) {
  const { sweep, parameters } = props;
  const score = goodness(sweep.objective, sweep.leaderboard);
  return (
    <div class="table-scroll">
      <table class="leaderboard" id="leaderboard">
        <caption>
          Runs by {sweep.objective.metric}, best first ({sweep.objective.goal}); the chart above draws the same values
        </caption>
        <thead>
          <tr>
            <th scope="col" class="num">
              Rank
            </th>
            <th scope="col">Run</th>
            <th scope="col">Status</th>
            {parameters.map((path) => (
              <th scope="col" class="num mono" key={path}>
                {path}
              </th>
            ))}
            <th scope="col" class="num">
              {sweep.objective.metric}
            </th>
            <th scope="col" class="num">
              At epoch
            </th>
            <th scope="col" class="num">
              Epochs
            </th>
            <th scope="col">Stopped because</th>
          </tr>
        </thead>
        <tbody>
          {sweep.leaderboard.map((entry) => (
            <LeaderboardRow key={entry.jobId} {...props} entry={entry} colour={goodnessColour(score(entry))} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Spread({ sweep }: { sweep: SweepView }) {
  return (
    <div class="spread-grid">
      {sweep.parameterSpread.map((spread) => (
        <div class="table-scroll" key={spread.parameter}>
          <table class="spread" data-parameter={spread.parameter}>
            <caption class="mono">{spread.parameter}</caption>
            <thead>
              <tr>
                <th scope="col">Value</th>
                <th scope="col" class="num">
                  Runs
                </th>
                <th scope="col" class="num">
                  Mean
                </th>
                <th scope="col" class="num">
                  Min
                </th>
                <th scope="col" class="num">
                  Max
                </th>
              </tr>
            </thead>
            <tbody>
              {spread.values.map((row) => (
                <tr key={JSON.stringify(row.value)}>
                  <th scope="row">{parameterText(row.value)}</th>
                  <td class="num">{row.runs}</td>
                  <td class="num">{objectiveText(sweep.objective, row.mean)}</td>
                  <td class="num">{objectiveText(sweep.objective, row.min)}</td>
                  <td class="num">{objectiveText(sweep.objective, row.max)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </div>
  );
}

/** What the pointer (or the keyboard, through the table) is on: the run's values in words. */
function Readout({ sweep, jobId }: { sweep: SweepView; jobId: string | null }) {
  const entry = sweep.leaderboard.find((run) => run.jobId === jobId);
  return (
    <p class="readout small" aria-live="polite">
      {entry ? (
        <>
          <strong>
            #{entry.rank} run {shortId(entry.jobId)}
          </strong>
          {': '}
          {Object.entries(entry.parameters)
            .map(([path, value]) => `${path} ${parameterText(value)}`)
            .join(', ')}
          {' → '}
          {sweep.objective.metric} {objectiveText(sweep.objective, entry.objective)}
        </>
      ) : (
        <span class="muted">Point at a line or a row of the leaderboard to see that run’s values.</span>
      )}
    </p>
  );
}

function ChartPanel({
  sweep,
  focused,
  onFocus,
}: {
  sweep: SweepView;
  focused: string | null;
  onFocus: (id: string | null) => void;
}) {
  const parameters = useMemo(() => sweptParameters(sweep), [sweep.spec]);
  return (
    <section aria-labelledby="chart-heading">
      <div class="title-row">
        <h2 id="chart-heading">Parameters against the objective</h2>
        <div class="spacer" />
        <span class="small muted colour-key">
          worse <span class="ramp" aria-hidden="true" /> better · widest line: the best run
        </span>
      </div>
      <ParallelCoordinates
        parameters={parameters}
        objective={sweep.objective}
        runs={sweep.leaderboard}
        highlight={focused}
        onHover={onFocus}
        title={`Parallel coordinates of ${sweep.leaderboard.length} runs: each line is a run, through its value of ${parameters
          .map(([path]) => path)
          .join(', ')} and its ${sweep.objective.metric}. The leaderboard table has the same values.`}
        describedBy="leaderboard"
      />
      <Readout sweep={sweep} jobId={focused} />
    </section>
  );
}

function useCancel(sweep: SweepView | null, setSweep: (sweep: SweepView) => void) {
  const [state, setState] = useState<{ busy: boolean; message: string | null }>({ busy: false, message: null });
  const cancel = async () => {
    if (!sweep || !window.confirm(`Cancel the sweep ${sweep.name} and its queued and running runs?`)) return;
    setState({ busy: true, message: null });
    try {
      setSweep(await cancelSweep(sweep.id));
      setState({ busy: false, message: 'Sweep cancelled.' });
    } catch (failure) {
      setState({ busy: false, message: failure instanceof ApiError ? failure.message : String(failure) });
    }
  };
  return { ...state, cancel };
}

export function SweepPage({ id }: { id: string }) {
  const { sweep, error, connection, setSweep } = useLiveSweep(id);
  const [focused, setFocused] = useState<string | null>(null);
  const cancel = useCancel(sweep, setSweep);
  const { write } = usePermissions();

  if (!sweep && error)
    return (
      <section>
        <h1>{error.status === 404 ? 'Sweep not found' : 'Could not load the sweep'}</h1>
        <p class="error">{error.message}</p>
        <p>
          <Link href="/runs/sweeps">See all sweeps</Link>.
        </p>
      </section>
    );
  if (!sweep) return <p aria-busy="true">Loading…</p>;

  const parameters = sweptParameters(sweep).map(([path]) => path);
  const top = sweep.leaderboard.filter((entry) => entry.objective !== null).slice(0, compareTop);
  return (
    <article class="sweep" data-status={sweep.status} data-sweep={sweep.id}>
      <p class="small">
        <Link href="/runs/sweeps">← Sweeps</Link>
      </p>
      <div class="title-row">
        <h1>{sweep.name}</h1>
        <StatusBadge status={sweep.status} />
        <ConnectionBadge state={connection} />
        <div class="spacer" />
        {top.length >= 2 && (
          <Link class="button" href={`/runs/compare?ids=${top.map((entry) => entry.jobId).join(',')}`}>
            Compare top {top.length} runs
          </Link>
        )}
        {write && sweep.status === 'running' && (
          <button type="button" class="danger" onClick={() => void cancel.cancel()} disabled={cancel.busy}>
            {cancel.busy ? 'Cancelling…' : 'Cancel sweep'}
          </button>
        )}
      </div>
      <p role="status" class="notice">
        {cancel.message ?? (error ? `Could not refresh: ${error.message}` : null)}
      </p>
      <div class="sweep-grid">
        <section aria-labelledby="facts-heading">
          <h2 id="facts-heading" class="visually-hidden">
            Summary
          </h2>
          <Facts sweep={sweep} />
        </section>
        <section aria-labelledby="best-heading">
          <h2 id="best-heading">Best run</h2>
          <BestRun sweep={sweep} />
        </section>
      </div>
      <ChartPanel sweep={sweep} focused={focused} onFocus={setFocused} />
      <h2>Leaderboard</h2>
      <Leaderboard sweep={sweep} parameters={parameters} focused={focused} onFocus={setFocused} />
      {sweep.leaderboard.length === 0 && <p class="muted">No run has started yet.</p>}
      <h2>Spread of the objective by parameter</h2>
      <Spread sweep={sweep} />
    </article>
  );
}
