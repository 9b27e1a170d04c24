import type { WebhookDelivery, WebhookDeliveryAttempt } from '@trainer/client';
import { Table, type Column } from '../../components/table';
import { dateTime, integer } from '../../format';

const statusClass = { pending: 'status-running', succeeded: 'status-completed', failed: 'status-failed' } as const;

/** What came back: the status code, or why nothing did. */
function Outcome({ attempt }: { attempt: WebhookDeliveryAttempt | undefined }) {
  if (!attempt) return <span class="muted">not tried yet</span>;
  if (attempt.statusCode !== null) return <span class="mono">{attempt.statusCode}</span>;
  return <span class="error small">{attempt.error ?? 'no answer'}</span>;
}

/** The start of the receiver's answer, with every attempt's when there were several. */
function Answer({ delivery }: { delivery: WebhookDelivery }) {
  const [latest] = delivery.attemptLog;
  const text = latest?.response || latest?.error || '';
  return (
    <>
      {text ? <code class="answer">{text}</code> : <span class="muted">–</span>}
      {delivery.attemptLog.length > 1 && (
        <details class="attempts">
          <summary>{delivery.attemptLog.length} attempts</summary>
          <ul>
            {delivery.attemptLog.map((attempt) => (
              <li key={attempt.attempt} data-attempt={attempt.attempt}>
                attempt {attempt.attempt}, {dateTime(attempt.createdAt)}: <Outcome attempt={attempt} /> in{' '}
                {integer(attempt.durationMs)} ms
                {attempt.response && <code class="answer">{attempt.response}</code>}
              </li>
            ))}
          </ul>
        </details>
      )}
    </>
  );
}

function columns(redeliver: ((delivery: WebhookDelivery) => void) | undefined): Column<WebhookDelivery>[] {
  const latest = (delivery: WebhookDelivery) => delivery.attemptLog[0];
  const base: Column<WebhookDelivery>[] = [
    {
      key: 'event',
      header: 'Event',
      rowHeader: true,
      cell: (delivery) => (
        <>
          <span class="mono">{delivery.eventType}</span>
          <span class="small muted block" title={`event id ${delivery.eventId}`}>
            {dateTime(delivery.createdAt)}
          </span>
        </>
      ),
    },
    {
      key: 'status',
      header: 'Delivery',
      cell: (delivery) => <span class={`badge ${statusClass[delivery.status]}`}>{delivery.status}</span>,
    },
    {
      key: 'code',
      header: 'Status code',
      headerClass: 'num',
      cell: (delivery) => <Outcome attempt={latest(delivery)} />,
    },
    {
      key: 'duration',
      header: 'Duration',
      headerClass: 'num',
      cell: (delivery) => {
        const attempt = latest(delivery);
        return attempt ? `${integer(attempt.durationMs)} ms` : '–';
      },
    },
    { key: 'attempt', header: 'Attempt', headerClass: 'num', cell: (delivery) => delivery.attempts },
    { key: 'next', header: 'Next try', cell: (delivery) => dateTime(delivery.nextAttemptAt) },
    {
      key: 'answer',
      header: "Receiver's answer",
      cellClass: 'answer-cell',
      cell: (delivery) => <Answer delivery={delivery} />,
    },
  ];
  if (!redeliver) return base;
  return [
    ...base,
    {
      key: 'redeliver',
      header: 'Action',
      cell: (delivery) => (
        <button type="button" class="small-button" onClick={() => redeliver(delivery)}>
          Redeliver
        </button>
      ),
    },
  ];
}

/**
 * The webhook's latest deliveries, newest first: the event, how its last attempt went and the start
 * of the answer. `redeliver`: undefined for a key that may not (a viewer).
 */
export function DeliveriesTable(props: {
  deliveries: readonly WebhookDelivery[];
  redeliver: ((delivery: WebhookDelivery) => void) | undefined;
}) {
  return (
    <Table
      class="deliveries"
      caption="Deliveries, newest first"
      captionClass="visually-hidden"
      columns={columns(props.redeliver)}
      rows={props.deliveries}
      rowKey={(delivery) => delivery.id}
      rowProps={(delivery) => ({
        'data-delivery': delivery.id,
        'data-status': delivery.status,
        'data-attempts': delivery.attempts,
      })}
    />
  );
}
