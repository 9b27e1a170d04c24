import type { Webhook } from '@trainer/client';
import { dateTime } from '../format';

/** Whether a webhook is sent to: enabled (failing since when, if it is), or disabled and why. */
export function WebhookState({ webhook }: { webhook: Webhook }) {
  if (!webhook.enabled)
    return (
      <span data-state="disabled">
        <span class="badge status-failed">disabled</span>{' '}
        <span class="small">
          {webhook.disabledReason ?? 'no reason given'}
          {webhook.disabledAt && ` (${dateTime(webhook.disabledAt)})`}
        </span>
      </span>
    );
  return (
    <span data-state="enabled">
      <span class="badge status-completed">enabled</span>
      {webhook.failingSince && <span class="small error"> failing since {dateTime(webhook.failingSince)}</span>}
    </span>
  );
}

/** The events a webhook receives, `*` said in words. */
export const eventsText = (events: readonly string[]) =>
  events.map((event) => (event === '*' ? 'every event (*)' : event)).join(', ');
