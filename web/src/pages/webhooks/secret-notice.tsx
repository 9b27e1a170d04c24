import type { CreatedWebhook } from '@trainer/client';
import { useRef, useState } from 'preact/hooks';

/** Puts `text` on the clipboard; where the page may not (plain http), selects it for a manual copy. */
async function copy(text: string, field: HTMLInputElement | null): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    field?.select();
    return false;
  }
}

/** The new webhook's signing secret, shown this once: the API never answers it again. */
export function SecretNotice({ webhook, onDone }: { webhook: CreatedWebhook; onDone: () => void }) {
  const [copied, setCopied] = useState<'yes' | 'select' | null>(null);
  const field = useRef<HTMLInputElement>(null);
  return (
    <section class="secret-notice" role="alert" aria-labelledby="secret-heading" data-webhook={webhook.id}>
      <h2 id="secret-heading">Signing secret of the new webhook</h2>
      <p>
        <strong>Copy it now: you will not see this secret again.</strong> Receivers use it to check that a delivery came
        from this server (README, “Webhooks”). Lost, it cannot be read back: delete the webhook and create another.
      </p>
      <div class="secret-row">
        <label for="webhook-secret" class="visually-hidden">
          Signing secret
        </label>
        <input
          id="webhook-secret"
          class="mono"
          readOnly
          value={webhook.secret}
          ref={field}
          onFocus={(event) => (event.target as HTMLInputElement).select()}
        />
        <button
          type="button"
          onClick={() => void copy(webhook.secret, field.current).then((done) => setCopied(done ? 'yes' : 'select'))}
        >
          Copy
        </button>
        <button type="button" onClick={onDone}>
          I have stored it
        </button>
      </div>
      <p class="small" role="status">
        {copied === 'yes' && 'Copied to the clipboard.'}
        {copied === 'select' && 'The browser refused the clipboard: the secret is selected, copy it with Ctrl+C.'}
      </p>
    </section>
  );
}
