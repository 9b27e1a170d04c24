import type { Sweep, SweepParameterSpread } from '@trainer/client';
import { Table, type Column } from '../../components/table';
import { objectiveText, parameterText } from '../../sweep-text';

type SpreadRow = SweepParameterSpread['values'][number];

function columns(sweep: Sweep): Column<SpreadRow>[] {
  const objective = (value: number) => objectiveText(sweep.objective, value);
  return [
    { key: 'value', header: 'Value', rowHeader: true, cell: (row) => parameterText(row.value) },
    { key: 'runs', header: 'Runs', headerClass: 'num', cell: (row) => row.runs },
    { key: 'mean', header: 'Mean', headerClass: 'num', cell: (row) => objective(row.mean) },
    { key: 'min', header: 'Min', headerClass: 'num', cell: (row) => objective(row.min) },
    { key: 'max', header: 'Max', headerClass: 'num', cell: (row) => objective(row.max) },
  ];
}

/** For each parameter, the objective over the runs of each of its values. */
export function Spread({ sweep }: { sweep: Sweep }) {
  const spreadColumns = columns(sweep);
  return (
    <div class="spread-grid">
      {sweep.parameterSpread.map((spread) => (
        <Table
          key={spread.parameter}
          class="spread"
          tableProps={{ 'data-parameter': spread.parameter }}
          caption={spread.parameter}
          captionClass="mono"
          columns={spreadColumns}
          rows={spread.values}
          rowKey={(row) => JSON.stringify(row.value)}
        />
      ))}
    </div>
  );
}
