import type { CreatedWebhook, FieldIssue, WebhookInput } from '@trainer/client';
import { useState } from 'preact/hooks';
import { api, failureText, TrainerApiError, unwrap } from '../../api';
import { Field, FieldError, invalidAttributes } from '../../components/field';
import { webhookSubscriptions, type WebhookSubscription } from '../../domain';

/** The fields of the form, by the name the API's issues give them. */
const fields = ['url', 'events', 'description'] as const;
type FormField = (typeof fields)[number];

type Refusal = { message: string; byField: Map<FormField, string[]>; other: FieldIssue[] };

const fieldOf = (path: string): FormField | undefined => fields.find((field) => path.split('.')[0] === field);

/** A failed POST /webhooks as the form shows it: each issue beside the field it names. */
function refusal(failure: unknown): Refusal {
  const byField = new Map<FormField, string[]>();
  const other: FieldIssue[] = [];
  if (!(failure instanceof TrainerApiError)) return { message: failureText(failure), byField, other };
  for (const issue of failure.issues) {
    const field = fieldOf(issue.path);
    if (field) byField.set(field, [...(byField.get(field) ?? []), issue.message]);
    else other.push(issue);
  }
  return { message: failure.message, byField, other };
}

const eventLabel = (event: WebhookSubscription) => (event === '*' ? '* (every event, also those added later)' : event);

/** The event checkboxes; `*` makes the others moot, so it greys them. */
function EventChoice(props: {
  chosen: Set<WebhookSubscription>;
  toggle: (event: WebhookSubscription) => void;
  messages: string[] | undefined;
}) {
  const { chosen, toggle, messages } = props;
  return (
    <fieldset
      class={`webhook-events ${messages ? 'has-error' : ''}`}
      {...invalidAttributes('webhook-events-error', messages)}
    >
      <legend>Events</legend>
      {webhookSubscriptions.map((event) => (
        <label key={event} class="inline">
          <input
            type="checkbox"
            name="events"
            value={event}
            checked={chosen.has(event)}
            disabled={event !== '*' && chosen.has('*')}
            onChange={() => toggle(event)}
          />
          <span class="mono">{eventLabel(event)}</span>
        </label>
      ))}
      <FieldError id="webhook-events-error" path="events" messages={messages} />
    </fieldset>
  );
}

/** The form's state: what is typed and ticked, and the last refusal. */
function useWebhookForm(onCreated: (webhook: CreatedWebhook) => void) {
  const [url, setUrl] = useState('');
  const [description, setDescription] = useState('');
  const [events, setEvents] = useState(new Set<WebhookSubscription>(['job.completed', 'job.failed']));
  const [refused, setRefused] = useState<Refusal | null>(null);
  const [sending, setSending] = useState(false);
  const toggle = (event: WebhookSubscription) => {
    const next = new Set(events);
    if (next.has(event)) next.delete(event);
    else next.add(event);
    setEvents(next);
  };
  const submit = async () => {
    // With `*` the named events add nothing: the API is sent what the form shows as chosen.
    const chosen = events.has('*') ? ['*' as const] : webhookSubscriptions.filter((event) => events.has(event));
    const body: WebhookInput = { url: url.trim(), events: chosen, ...(description.trim() ? { description } : {}) };
    setSending(true);
    setRefused(null);
    try {
      onCreated(await unwrap(api.POST('/webhooks', { body })));
      setUrl('');
      setDescription('');
    } catch (failure) {
      setRefused(refusal(failure));
    } finally {
      setSending(false);
    }
  };
  return { url, setUrl, description, setDescription, events, toggle, refused, sending, submit };
}

/** Why the webhook was not created: the API's message, unless every issue already shows beside its field. */
function RefusalMessage({ refused }: { refused: Refusal }) {
  const placed = refused.byField.size > 0 && refused.other.length === 0;
  return (
    <div class="error" role="alert" id="webhook-form-message">
      {placed ? 'Not created: see the marked fields.' : refused.message}
      {refused.other.length > 0 && (
        <ul>
          {refused.other.map((issue) => (
            <li key={`${issue.path}:${issue.message}`}>
              {issue.path}: {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** POST /webhooks: a URL, the events it receives, and what it is for. */
export function CreateWebhookForm({ onCreated }: { onCreated: (webhook: CreatedWebhook) => void }) {
  const form = useWebhookForm(onCreated);
  const messages = (field: FormField) => form.refused?.byField.get(field);
  const onSubmit = (event: Event) => {
    event.preventDefault();
    void form.submit();
  };
  return (
    // noValidate: the API checks the URL (and says which addresses it refuses), so its word shows.
    <form class="webhook-form" onSubmit={onSubmit} noValidate aria-labelledby="create-webhook-heading">
      <h2 id="create-webhook-heading">New webhook</h2>
      <Field
        id="webhook-url"
        path="url"
        label="URL (http:// or https://)"
        errorId="webhook-url-error"
        messages={messages('url')}
      >
        {(attributes) => (
          <input
            {...attributes}
            type="url"
            name="url"
            placeholder="https://example.com/hooks/trainer"
            value={form.url}
            onInput={(event) => form.setUrl((event.target as HTMLInputElement).value)}
          />
        )}
      </Field>
      <EventChoice chosen={form.events} toggle={form.toggle} messages={messages('events')} />
      <Field
        id="webhook-description"
        path="description"
        label="Description (optional)"
        errorId="webhook-description-error"
        messages={messages('description')}
      >
        {(attributes) => (
          <input
            {...attributes}
            name="description"
            maxLength={500}
            value={form.description}
            onInput={(event) => form.setDescription((event.target as HTMLInputElement).value)}
          />
        )}
      </Field>
      {form.refused && <RefusalMessage refused={form.refused} />}
      <button type="submit" class="primary" disabled={form.sending}>
        {form.sending ? 'Creating…' : 'Create webhook'}
      </button>
    </form>
  );
}
