import type { Sweep, SweepLeaderboardEntry } from '@trainer/client';
import { StatusBadge } from '../../components/badges';
import { Table, type Column } from '../../components/table';
import { shortId } from '../../format';
import { goodness, goodnessColour } from '../../parallel-axes';
import { Link } from '../../router';
import { objectiveText, parameterText } from '../../sweep-text';

export interface LeaderboardProps {
  sweep: Sweep;
  parameters: string[];
  focused: string | null;
  onFocus: (jobId: string | null) => void;
}

function columns({ sweep, parameters }: LeaderboardProps): Column<SweepLeaderboardEntry>[] {
  const score = goodness(sweep.objective, sweep.leaderboard);
  return [
    { key: 'rank', header: 'Rank', headerClass: 'num', cell: (entry) => entry.rank },
    {
      key: 'run',
      header: 'Run',
      rowHeader: true,
      cell: (entry) => (
        <>
          <span class="swatch" style={{ background: goodnessColour(score(entry)) }} />
          <Link
            href={`/runs/${entry.jobId}`}
            aria-label={`run ${shortId(entry.jobId)}, configuration ${entry.index + 1}`}
          >
            {shortId(entry.jobId)}
          </Link>
        </>
      ),
    },
    { key: 'status', header: 'Status', cell: (entry) => <StatusBadge status={entry.status} /> },
    ...parameters.map((path): Column<SweepLeaderboardEntry> => ({
      key: `p-${path}`,
      header: path,
      headerClass: 'num mono',
      cellClass: 'num',
      cell: (entry) => parameterText(entry.parameters[path]),
    })),
    {
      key: 'objective',
      header: sweep.objective.metric,
      headerClass: 'num',
      cellClass: 'num objective',
      cellProps: (entry) => ({ 'data-objective': entry.objective ?? '' }),
      cell: (entry) => objectiveText(sweep.objective, entry.objective),
    },
    { key: 'epoch', header: 'At epoch', headerClass: 'num', cell: (entry) => entry.epoch ?? '–' },
    { key: 'epochs', header: 'Epochs', headerClass: 'num', cell: (entry) => entry.epochsCompleted },
    {
      key: 'stopped',
      header: 'Stopped because',
      cellClass: 'small muted stopped',
      cell: (entry) => entry.stoppedReason ?? '',
    },
  ];
}

/** The runs by the objective, best first; pointing at a row (or focusing it) picks its line in the chart. */
export function Leaderboard(props: LeaderboardProps) {
  const { sweep, focused, onFocus } = props;
  return (
    <Table
      class="leaderboard"
      id="leaderboard"
      caption={`Runs by ${sweep.objective.metric}, best first (${sweep.objective.goal}); the chart above draws the same values`}
      columns={columns(props)}
      rows={sweep.leaderboard}
      rowKey={(entry) => entry.jobId}
      rowProps={(entry) => ({
        'data-run': entry.jobId,
        class: focused === entry.jobId ? 'focused' : '',
        onMouseEnter: () => onFocus(entry.jobId),
        onMouseLeave: () => onFocus(null),
        onFocusIn: () => onFocus(entry.jobId),
        onFocusOut: () => onFocus(null),
      })}
    />
  );
}
