import type { Sweep } from '@trainer/client';
import { useMemo } from 'preact/hooks';
import { ParallelCoordinates } from '../../components/parallel-coordinates';
import { shortId } from '../../format';
import { objectiveText, parameterText, specParameters, type SweepParameter } from '../../sweep-text';

/** The swept parameters in the spec's order, with their definitions. */
export function sweptParameters(sweep: Sweep): [string, SweepParameter | undefined][] {
  const fromSpec = specParameters(sweep);
  if (fromSpec.length > 0) return fromSpec;
  return sweep.parameterSpread.map((spread) => [spread.parameter, undefined]);
}

/** What the pointer (or the keyboard, through the table) is on: the run's values in words. */
function Readout({ sweep, jobId }: { sweep: Sweep; jobId: string | null }) {
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

/** Every run's parameters against the objective, as parallel coordinates, with a readout of the one pointed at. */
export function ChartPanel({
  sweep,
  focused,
  onFocus,
}: {
  sweep: Sweep;
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
