import type { ComponentChildren, JSX } from 'preact';

/** Attributes of an element, data- attributes included. */
type Attributes<Element extends EventTarget> = JSX.HTMLAttributes<Element> & {
  [data: `data-${string}`]: string | number | undefined;
};

/** One column of a Table: its header, and what each row shows in it. */
export interface Column<Row> {
  /** Unique among the table's columns. */
  key: string | number;
  header: ComponentChildren;
  /** Classes of the header cell (`num`, `wide-only`, ...). */
  headerClass?: string;
  /** Classes of the column's cells; the header's when absent. */
  cellClass?: string;
  /** The column names its rows: its cells are `<th scope="row">`. */
  rowHeader?: boolean;
  cell(row: Row, index: number): ComponentChildren;
  /** Attributes of one cell beyond its class (a style, a data- attribute). */
  cellProps?(row: Row, index: number): Attributes<HTMLTableCellElement>;
}

export interface TableProps<Row> {
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  rowKey(row: Row, index: number): string | number;
  /** Attributes of a row (`data-run`, a class, pointer handlers). */
  rowProps?(row: Row, index: number): Attributes<HTMLTableRowElement>;
  class?: string;
  id?: string;
  /** Other attributes of the table (a data- attribute). */
  tableProps?: Attributes<HTMLTableElement>;
  caption?: ComponentChildren;
  captionClass?: string;
  /** Hides the table (and its scroll box) while it has nothing to show. */
  hidden?: boolean;
}

function Cell<Row>({ column, row, index }: { column: Column<Row>; row: Row; index: number }) {
  const className = column.cellClass ?? column.headerClass;
  const props = { ...column.cellProps?.(row, index), ...(className ? { class: className } : {}) };
  const content = column.cell(row, index);
  return column.rowHeader ? (
    <th scope="row" {...props}>
      {content}
    </th>
  ) : (
    <td {...props}>{content}</td>
  );
}

/** The dashboard's one table: a caption, column headers, a row per item, in a box that scrolls sideways. */
export function Table<Row>(props: TableProps<Row>) {
  const { columns, rows } = props;
  return (
    <div class="table-scroll" hidden={props.hidden}>
      <table {...props.tableProps} class={props.class} id={props.id}>
        {props.caption !== undefined && <caption class={props.captionClass}>{props.caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column.key} class={column.headerClass}>
                {column.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, index) => (
            <tr key={props.rowKey(row, index)} {...props.rowProps?.(row, index)}>
              {columns.map((column) => (
                <Cell key={column.key} column={column} row={row} index={index} />
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
