import type { RunSummary } from '@trainer/client';
import { finished } from '../../api';
import { StatusBadge } from '../../components/badges';
import { accuracyColumn, countColumn, durationColumn } from '../../components/metric-columns';
import { Table, type Column } from '../../components/table';
import { dateTime, eta, runName } from '../../format';
import { Link } from '../../router';
import type { Progress } from './use-runs';

function ProgressCell({ run, progress }: { run: RunSummary; progress: Progress | undefined }) {
  if (run.status === 'queued') return <span class="muted">queued</span>;
  const fraction =
    run.status === 'running'
      ? (progress?.progress.fraction ?? run.epochsCompleted / run.hyperparameters.epochs)
      : run.epochsCompleted / run.hyperparameters.epochs;
  const label = `${Math.round(fraction * 100)}%`;
  const left = run.status === 'running' ? eta(progress?.startedAt ?? null, fraction) : '';
  return (
    <div class="progress-cell">
      <progress max={1} value={fraction} aria-label={`${runName(run)} progress`}>
        {label}
      </progress>
      <span class="small">
        {label}
        {left && ` · ${left}`}
      </span>
    </div>
  );
}

export interface RunsTableProps {
  runs: RunSummary[];
  caption: string;
  progress: Map<string, Progress>;
  isSelected: (id: string) => boolean;
  onToggle: (id: string) => void;
  /** Whether this key may cancel and delete (a member: only its own runs, which are all it sees). */
  mayWrite: boolean;
  canDelete: boolean;
  onAction: (run: RunSummary, action: 'cancel' | 'delete') => void;
}

function Actions({ run, ...props }: { run: RunSummary } & Pick<RunsTableProps, 'mayWrite' | 'canDelete' | 'onAction'>) {
  if (!props.mayWrite) return null;
  if (!finished(run.status))
    return (
      <button type="button" class="small-button" onClick={() => props.onAction(run, 'cancel')}>
        Cancel<span class="visually-hidden"> {runName(run)}</span>
      </button>
    );
  if (!props.canDelete) return null;
  return (
    <button type="button" class="small-button danger" onClick={() => props.onAction(run, 'delete')}>
      Delete<span class="visually-hidden"> {runName(run)}</span>
    </button>
  );
}

/** Columns that show the run alone. */
const facts: Column<RunSummary>[] = [
  { key: 'architecture', header: 'Architecture', cellClass: 'mono', cell: (run) => run.architecture },
  countColumn('parameters', 'Parameters', (run) => run.parameterCount, 'wide-only'),
  accuracyColumn('final', 'Final acc.', (run) => run.finalTestAccuracy),
  accuracyColumn('best', 'Best acc.', (run) => run.bestTestAccuracy, 'wide-only'),
  durationColumn('duration', 'Duration', (run) => run.durationMs, 'wide-only'),
  {
    key: 'tags',
    header: 'Tags',
    headerClass: 'wide-only',
    cell: (run) => [
      ...(run.pinned
        ? [
            <span class="tag pinned" key="pinned" title="Pinned">
              pinned
            </span>,
          ]
        : []),
      ...(run.expiresAt
        ? [
            <span class="tag expires" key="expires" title={`Deleted by retention after ${dateTime(run.expiresAt)}`}>
              expires {new Date(run.expiresAt).toLocaleDateString(undefined, { dateStyle: 'medium' })}
            </span>,
          ]
        : []),
      ...run.tags.map((tag) => (
        <span class="tag" key={tag}>
          {tag}
        </span>
      )),
    ],
  },
  {
    key: 'created',
    header: 'Created',
    headerClass: 'wide-only',
    cellClass: 'wide-only small',
    cell: (run) => dateTime(run.createdAt),
  },
];

function columns(props: RunsTableProps): Column<RunSummary>[] {
  return [
    {
      key: 'select',
      header: <span class="visually-hidden">Select</span>,
      cell: (run) => (
        <input
          type="checkbox"
          checked={props.isSelected(run.id)}
          onChange={() => props.onToggle(run.id)}
          aria-label={`Select ${runName(run)} to compare`}
        />
      ),
    },
    {
      key: 'name',
      header: 'Name',
      cellClass: 'name',
      cell: (run) => <Link href={`/runs/${run.id}`}>{runName(run)}</Link>,
    },
    { key: 'status', header: 'Status', cell: (run) => <StatusBadge status={run.status} /> },
    {
      key: 'progress',
      header: 'Progress',
      headerClass: 'wide-only',
      cell: (run) => <ProgressCell run={run} progress={props.progress.get(run.id)} />,
    },
    ...facts,
    {
      key: 'actions',
      header: <span class="visually-hidden">Actions</span>,
      cellClass: 'actions',
      cell: (run) => <Actions run={run} {...props} />,
    },
  ];
}

/** The runs of a page of GET /jobs, with progress, selection for comparing, cancel and delete. */
export function RunsTable(props: RunsTableProps) {
  return (
    <Table
      class="runs"
      caption={props.caption}
      captionClass="visually-hidden"
      columns={columns(props)}
      rows={props.runs}
      rowKey={(run) => run.id}
      rowProps={(run) => ({ 'data-run': run.id, 'data-status': run.status })}
    />
  );
}
