import { useState } from 'preact/hooks';
import { navigate } from '../router';

/**
 * Previous and next page of a listing paged by cursors: `nextCursor` of the page shown leads on, and
 * the cursors gone through are remembered to lead back. `pageUrl` is the page URL of a cursor.
 */
export function Pager(props: {
  label: string;
  cursor: string | null;
  nextCursor: string | null | undefined;
  pageUrl(cursor: string | null): string;
}) {
  const [previous, setPrevious] = useState<string[]>([]);
  const { cursor, nextCursor } = props;
  const back = () => {
    setPrevious(previous.slice(0, -1));
    navigate(props.pageUrl(previous.at(-1) || null));
  };
  const next = () => {
    setPrevious([...previous, cursor ?? '']);
    navigate(props.pageUrl(nextCursor ?? null));
  };
  return (
    <nav class="pager" aria-label={props.label}>
      <button type="button" disabled={!cursor} onClick={back}>
        Previous page
      </button>
      <button type="button" disabled={!nextCursor} onClick={next}>
        Next page
      </button>
    </nav>
  );
}
