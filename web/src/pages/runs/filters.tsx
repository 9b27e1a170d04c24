import { jobStatuses } from '../../api';
import { navigate } from '../../router';
import { usePermissions } from '../../session';
import { withQuery } from './query';

const sorts = [
  ['created', 'Created'],
  ['finalAccuracy', 'Final accuracy'],
  ['bestAccuracy', 'Best accuracy'],
  ['duration', 'Duration'],
] as const;

const orders = [
  ['desc', 'Descending'],
  ['asc', 'Ascending'],
] as const;

const pageSizes = [
  ['20', '20'],
  ['50', '50'],
  ['100', '100'],
] as const;

function StatusFilter({ query }: { query: URLSearchParams }) {
  const statuses = new Set((query.get('status') ?? '').split(',').filter(Boolean));
  const toggleStatus = (status: string) => {
    if (statuses.has(status)) statuses.delete(status);
    else statuses.add(status);
    navigate(withQuery(query, { status: [...statuses].join(','), cursor: null }), { replace: true });
  };
  return (
    <fieldset class="statuses">
      <legend>Status</legend>
      {jobStatuses.map((status) => (
        <label key={status}>
          <input type="checkbox" checked={statuses.has(status)} onChange={() => toggleStatus(status)} /> {status}
        </label>
      ))}
    </fieldset>
  );
}

function Choice(props: {
  name: string;
  label: string;
  query: URLSearchParams;
  options: readonly (readonly [string, string])[];
}) {
  return (
    <label>
      {props.label}
      <select name={props.name} defaultValue={props.query.get(props.name) ?? props.options[0]?.[0]}>
        {props.options.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
    </label>
  );
}

const TextFilter = ({ name, label, query }: { name: string; label: string; query: URLSearchParams }) => (
  <label>
    {label}
    <input name={name} defaultValue={query.get(name) ?? ''} />
  </label>
);

/** The filters and sorts of GET /jobs, kept in the page's URL. */
export function Filters({ query }: { query: URLSearchParams }) {
  const { admin, auth } = usePermissions();
  const onSubmit = (event: SubmitEvent) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    const changes = Object.fromEntries(
      ['name', 'tag', 'notes', 'pinned', 'dataset', 'owner', 'sort', 'order', 'limit'].map((name) => [
        name,
        field(name),
      ]),
    );
    navigate(withQuery(query, { ...changes, cursor: null }), { replace: true });
  };
  return (
    <form class="filters" onSubmit={onSubmit} aria-label="Filter and sort runs">
      <StatusFilter query={query} />
      <TextFilter name="name" label="Name contains" query={query} />
      <TextFilter name="tag" label="Tag" query={query} />
      <TextFilter name="notes" label="Notes contain" query={query} />
      <label>
        <input type="checkbox" name="pinned" value="true" defaultChecked={query.get('pinned') === 'true'} /> Pinned only
      </label>
      <TextFilter name="dataset" label="Dataset" query={query} />
      {/* Admins see every owner's runs; other keys only their own owner's. */}
      {admin && auth === 'required' && <TextFilter name="owner" label="Owner" query={query} />}
      <Choice name="sort" label="Sort by" query={query} options={sorts} />
      <Choice name="order" label="Order" query={query} options={orders} />
      <Choice name="limit" label="Per page" query={query} options={pageSizes} />
      <button type="submit">Apply</button>
    </form>
  );
}
