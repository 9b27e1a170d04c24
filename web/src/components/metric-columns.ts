import type { Column } from './table';
import { duration, integer, loss, percent } from '../format';

// The columns of numbers the tables of runs and epochs share: accuracies, losses, times and speeds,
// right-aligned and formatted alike wherever they appear. `also` is a class beside `num` (`wide-only`).

type Value<Row> = (row: Row) => number | null;

const numeric = <Row>(key: string, header: string, text: (row: Row) => string, also?: string): Column<Row> => ({
  key,
  header,
  headerClass: also ? `num ${also}` : 'num',
  cell: text,
});

export const accuracyColumn = <Row>(key: string, header: string, value: Value<Row>, also?: string) =>
  numeric<Row>(key, header, (row) => percent(value(row)), also);

export const lossColumn = <Row>(key: string, header: string, value: Value<Row>, also?: string) =>
  numeric<Row>(key, header, (row) => loss(value(row)), also);

export const durationColumn = <Row>(key: string, header: string, value: Value<Row>, also?: string) =>
  numeric<Row>(key, header, (row) => duration(value(row)), also);

/** Examples a second, to the unit. */
export const speedColumn = <Row>(key: string, header: string, value: Value<Row>, also?: string) =>
  numeric<Row>(
    key,
    header,
    (row) => {
      const speed = value(row);
      return speed === null ? '–' : integer(Math.round(speed));
    },
    also,
  );

export const countColumn = <Row>(key: string, header: string, value: (row: Row) => number, also?: string) =>
  numeric<Row>(key, header, (row) => integer(value(row)), also);
