import { createHmac } from 'node:crypto';

/** The header a delivery's signature travels in (README "Webhooks" shows how to check it). */
export const signatureHeader = 'trainer-signature';

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, as Stripe signs its webhooks: the
 * time is signed too, so a receiver can refuse an old delivery replayed at it.
 */
export function signatureOf(secret: string, body: string, unixSeconds: number): string {
  const digest = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${digest}`;
}
