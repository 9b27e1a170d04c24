import type { Webhook, WebhookDelivery } from '@trainer/client';
import { useState } from 'preact/hooks';
import { api, failureText, unwrap } from '../../api';
import { eventsText, WebhookState } from '../../components/webhook-state';
import { dateTime } from '../../format';
import { Link, navigate } from '../../router';
import { usePermissions } from '../../session';
import '../../webhooks.css';
import { DeliveriesTable } from './deliveries';
import { useWebhook } from './use-webhook';

function Facts({ webhook, showOwner }: { webhook: Webhook; showOwner: boolean }) {
  return (
    <dl class="facts">
      <dt>URL</dt>
      <dd class="mono webhook-url">{webhook.url}</dd>
      <dt>Events</dt>
      <dd>{eventsText(webhook.events)}</dd>
      <dt>State</dt>
      <dd>
        <WebhookState webhook={webhook} />
      </dd>
      {webhook.description && (
        <>
          <dt>Description</dt>
          <dd>{webhook.description}</dd>
        </>
      )}
      {showOwner && (
        <>
          <dt>Owner</dt>
          <dd>{webhook.owner}</dd>
        </>
      )}
      <dt>Created</dt>
      <dd>{dateTime(webhook.createdAt)}</dd>
    </dl>
  );
}

/** Delete (after a confirmation) and redeliver, with what they answered. */
function useActions(webhook: Webhook | null, reload: () => Promise<unknown>) {
  const [notice, setNotice] = useState<string | null>(null);
  const remove = async () => {
    if (
      !webhook ||
      !window.confirm(`Delete the webhook to ${webhook.url} with its deliveries? Nothing more is sent to it.`)
    )
      return;
    try {
      await unwrap(api.DELETE('/webhooks/{id}', { params: { path: { id: webhook.id } } }));
      navigate('/hooks');
    } catch (failure) {
      setNotice(`Could not delete the webhook: ${failureText(failure)}`);
    }
  };
  const redeliver = async (delivery: WebhookDelivery) => {
    if (!webhook) return;
    try {
      const params = { path: { id: webhook.id, deliveryId: delivery.id } };
      await unwrap(api.POST('/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params }));
      setNotice(`${delivery.eventType} queued again, with the same event id.`);
    } catch (failure) {
      setNotice(`Could not redeliver: ${failureText(failure)}`);
    }
    await reload();
  };
  return { notice, remove, redeliver };
}

export function WebhookPage({ id }: { id: string }) {
  const { write, admin, auth } = usePermissions();
  // An admin sees every owner's webhooks; with AUTH=off there is one owner, not worth a column.
  const showOwner = admin && auth === 'required';
  const { webhook, deliveries, error, reload } = useWebhook(id);
  const { notice, remove, redeliver } = useActions(webhook, reload);
  if (error)
    return (
      <section>
        <h1>Webhook {id.slice(0, 8)}</h1>
        <p class="error">
          {error.status === 404 ? 'No webhook has this id.' : `Could not load the webhook: ${error.message}`}
        </p>
        <Link href="/hooks">All webhooks</Link>
      </section>
    );
  if (!webhook) return <p aria-busy="true">Loading…</p>;
  return (
    <article class="webhook" data-webhook={webhook.id} data-enabled={String(webhook.enabled)}>
      <div class="title-row">
        <h1>Webhook {webhook.description ?? webhook.id.slice(0, 8)}</h1>
        <div class="spacer" />
        <Link href="/hooks">All webhooks</Link>
        {write && (
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete webhook…
          </button>
        )}
      </div>
      <p role="status" class="notice">
        {notice}
      </p>
      <Facts webhook={webhook} showOwner={showOwner} />
      <h2>Recent deliveries</h2>
      {deliveries === null ? (
        <p aria-busy="true">Loading…</p>
      ) : deliveries.length === 0 ? (
        <p class="muted">Nothing sent yet: a delivery appears here when one of its events happens.</p>
      ) : (
        <DeliveriesTable
          deliveries={deliveries}
          redeliver={write ? (delivery) => void redeliver(delivery) : undefined}
        />
      )}
    </article>
  );
}
