import type { Webhook } from '@trainer/client';
import { Table, type Column } from '../../components/table';
import { eventsText, WebhookState } from '../../components/webhook-state';
import { dateTime } from '../../format';
import { Link } from '../../router';

const columns: Column<Webhook>[] = [
  {
    key: 'url',
    header: 'URL',
    rowHeader: true,
    cellClass: 'mono webhook-url',
    cell: (webhook) => <Link href={`/hooks/${webhook.id}`}>{webhook.url}</Link>,
  },
  { key: 'events', header: 'Events', cell: (webhook) => eventsText(webhook.events) },
  { key: 'state', header: 'State', cell: (webhook) => <WebhookState webhook={webhook} /> },
  { key: 'description', header: 'Description', cellClass: 'description', cell: (webhook) => webhook.description },
  { key: 'created', header: 'Created', cellClass: 'created', cell: (webhook) => dateTime(webhook.createdAt) },
];

/** The webhooks the key sees, newest first, each linking to its deliveries. */
export function WebhookTable({ webhooks, showOwner }: { webhooks: readonly Webhook[]; showOwner: boolean }) {
  const owner: Column<Webhook> = { key: 'owner', header: 'Owner', cell: (webhook) => webhook.owner };
  return (
    <Table
      class="webhooks"
      caption="Webhooks: where events of runs and sweeps are POSTed"
      captionClass="visually-hidden"
      columns={showOwner ? [...columns, owner] : columns}
      rows={webhooks}
      rowKey={(webhook) => webhook.id}
      rowProps={(webhook) => ({ 'data-webhook': webhook.id })}
    />
  );
}
