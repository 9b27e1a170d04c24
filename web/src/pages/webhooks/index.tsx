import type { CreatedWebhook, Webhook } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, failureText, optional } from '../../api';
import { usePermissions } from '../../session';
import '../../webhooks.css';
import { CreateWebhookForm } from './create-form';
import { SecretNotice } from './secret-notice';
import { WebhookTable } from './webhook-table';

/** GET /webhooks: undefined while asked, null when this API has no webhooks. */
function useWebhooks() {
  const [webhooks, setWebhooks] = useState<Webhook[] | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    optional(api.GET('/webhooks')).then(
      (body) => setWebhooks(body?.webhooks ?? null),
      (failure: unknown) => setError(failureText(failure)),
    );
  }, []);
  // The answer to the creation is the new webhook: the list shows it first without asking again.
  const created = ({ secret: _secret, ...webhook }: CreatedWebhook) =>
    setWebhooks((current) => [webhook, ...(current ?? [])]);
  return { webhooks, error, created };
}

export function WebhooksPage() {
  const { write, admin, auth } = usePermissions();
  // An admin sees every owner's webhooks; with AUTH=off there is one owner, not worth a column.
  const showOwner = admin && auth === 'required';
  const { webhooks, error, created } = useWebhooks();
  // The secret lives only in this state: leaving the page or pressing "stored" forgets it for good.
  const [fresh, setFresh] = useState<CreatedWebhook | null>(null);
  if (error)
    return (
      <section>
        <h1>Webhooks</h1>
        <p class="error">Could not load the webhooks: {error}</p>
      </section>
    );
  if (webhooks === undefined) return <p aria-busy="true">Loading…</p>;
  if (webhooks === null)
    return (
      <section>
        <h1>Webhooks</h1>
        <p>This server has no webhooks API.</p>
      </section>
    );
  return (
    <section class="webhooks-page">
      <h1>Webhooks</h1>
      <p class="muted">
        Each event of a run or sweep (started, completed, failed, cancelled, a new best model) is POSTed as signed JSON
        to the webhooks that subscribe to it, and retried for up to a day until the receiver answers 2xx.
      </p>
      {fresh && <SecretNotice webhook={fresh} onDone={() => setFresh(null)} />}
      {webhooks.length === 0 ? (
        <p class="muted">No webhooks yet.</p>
      ) : (
        <WebhookTable webhooks={webhooks} showOwner={showOwner} />
      )}
      {write ? (
        <CreateWebhookForm
          onCreated={(webhook) => {
            created(webhook);
            setFresh(webhook);
          }}
        />
      ) : (
        <p class="muted">Creating webhooks needs a member or admin key.</p>
      )}
    </section>
  );
}
