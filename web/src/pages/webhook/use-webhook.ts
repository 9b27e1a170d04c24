import type { Webhook, WebhookDelivery } from '@trainer/client';
import { useEffect, useState } from 'preact/hooks';
import { api, failureText, TrainerApiError, unwrap } from '../../api';

/** How often the deliveries are read again while the page is open: new events and retries show up. */
const refreshMs = 3000;

/** GET /webhooks/:id, and its deliveries (GET /webhooks/:id/deliveries) read again every few seconds. */
export function useWebhook(id: string) {
  const [webhook, setWebhook] = useState<Webhook | null>(null);
  const [deliveries, setDeliveries] = useState<WebhookDelivery[] | null>(null);
  const [error, setError] = useState<{ status: number; message: string } | null>(null);
  const path = { params: { path: { id } } };

  const readDeliveries = () =>
    unwrap(api.GET('/webhooks/{id}/deliveries', path)).then(
      (body) => setDeliveries(body.deliveries),
      () => undefined,
    );
  const read = () =>
    Promise.all([
      unwrap(api.GET('/webhooks/{id}', path)).then(setWebhook, (failure: unknown) =>
        setError({ status: failure instanceof TrainerApiError ? failure.status : 0, message: failureText(failure) }),
      ),
      readDeliveries(),
    ]);

  useEffect(() => {
    void read();
    const timer = setInterval(() => void read(), refreshMs);
    return () => clearInterval(timer);
  }, [id]);
  return { webhook, deliveries, error, reload: read };
}
