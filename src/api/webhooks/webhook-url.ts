import { InvalidRequest } from '../../domain/errors.js';
import { isForbiddenAddress, type Resolve } from '../../domain/network-addresses.js';

const refuse = (message: string) =>
  new InvalidRequest('invalid_webhook_url', `invalid url: ${message}`, [{ path: 'url', message }]);

/**
 * Checks a webhook's URL when it is created: http(s), no credentials, and (unless private networks
 * are allowed) a name none of whose addresses is loopback, private, link-local or reserved. Each
 * delivery checks the address it connects to again, so a name that changes its answer later is
 * caught there.
 */
export async function checkWebhookUrl(url: string, options: { allowPrivateNetworks: boolean; resolve: Resolve }) {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw refuse('must be an absolute http:// or https:// URL');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw refuse('must be an http:// or https:// URL');
  if (target.username !== '' || target.password !== '') throw refuse('must not carry a user name or password');
  if (options.allowPrivateNetworks) return;
  const hostname = target.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string }[];
  try {
    addresses = /^[\d.]+$|:/.test(hostname) ? [{ address: hostname }] : await options.resolve(hostname);
  } catch {
    throw refuse(`${hostname} does not resolve`);
  }
  const forbidden = addresses.find((entry) => isForbiddenAddress(entry.address));
  if (forbidden || addresses.length === 0)
    throw refuse(
      `${hostname} resolves to ${forbidden?.address ?? 'no address'}, a loopback, private, link-local or reserved ` +
        'address; the server refuses those unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true',
    );
}
