import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isForbiddenAddress, resolveWithDns, type Resolve } from '../../domain/network-addresses.js';

export interface PostOptions {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: when false, loopback, private, link-local and metadata addresses are refused. */
  allowPrivateNetworks: boolean;
  timeoutMs: number;
  /** Bytes of the answer read at most; the rest is not waited for. */
  maxResponseBytes: number;
  resolve?: Resolve;
}

export interface PostAnswer {
  statusCode: number;
  /** The start of the answer's body, for the attempt's record. */
  excerpt: string;
}

/** A target this server may not reach (see `isForbiddenAddress`). */
export class AddressRefused extends Error {
  constructor(hostname: string, address: string | undefined) {
    super(
      `${hostname} resolves to ${address ?? 'no address'}, a loopback, private, link-local or reserved address ` +
        '(WEBHOOK_ALLOW_PRIVATE_NETWORKS=true allows it)',
    );
    this.name = 'AddressRefused';
  }
}

const excerptBytes = 1024;

/**
 * The address to connect to: the host itself when it is an IP, else the first address of its name,
 * refusing a name any of whose addresses is forbidden.
 */
async function checkedAddress(hostname: string, options: PostOptions): Promise<string> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(bare) !== 0 ? [{ address: bare }] : await (options.resolve ?? resolveWithDns)(bare);
  const refused = addresses.find((entry) => isForbiddenAddress(entry.address));
  if (!options.allowPrivateNetworks && (addresses.length === 0 || refused))
    throw new AddressRefused(bare, refused?.address);
  const first = addresses[0];
  if (!first) throw new Error(`${bare} has no address`);
  return first.address;
}

function readAnswer(response: http.IncomingMessage, maxBytes: number): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let read = 0;
    const done = () =>
      resolve({
        statusCode: response.statusCode ?? 0,
        excerpt: Buffer.concat(chunks).subarray(0, excerptBytes).toString('utf8'),
      });
    response.on('data', (chunk: Buffer) => {
      const room = maxBytes - read;
      if (room > 0) chunks.push(chunk.subarray(0, room));
      read += chunk.length;
      // Past the cap the answer is not read any further: its status is all that counts.
      if (read >= maxBytes) {
        response.destroy();
        done();
      }
    });
    response.on('end', done);
    response.on('error', reject);
  });
}

/**
 * POSTs `body` to `url` and reads the answer, never following a redirect. The name is resolved
 * here and the request goes to the very address that was checked (an IP literal, so nothing
 * resolves it again: a DNS answer that changes between check and connect cannot slip through),
 * and the connected socket's remote address is checked once more. Throws on a refused address,
 * a network error or the timeout.
 */
export async function postJson(
  url: string,
  body: string,
  headers: Record<string, string>,
  options: PostOptions,
): Promise<PostAnswer> {
  const target = new URL(url);
  const signal = AbortSignal.timeout(options.timeoutMs);
  const address = await Promise.race([
    checkedAddress(target.hostname, options),
    new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(timeoutError(options)))),
  ]);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise<PostAnswer>((resolve, reject) => {
    const request = client.request({
      method: 'POST',
      host: address,
      port: target.port || (target.protocol === 'https:' ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      // TLS checks the certificate against the name, though the socket is opened to the address.
      servername: isIP(target.hostname) === 0 ? target.hostname : undefined,
      headers: {
        ...headers,
        host: target.host,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      },
      agent: false,
      signal,
    });
    request.on('socket', (socket) =>
      socket.once('connect', () => {
        const remote = socket.remoteAddress;
        if (!options.allowPrivateNetworks && (remote === undefined || isForbiddenAddress(remote)))
          request.destroy(new AddressRefused(target.hostname, remote));
      }),
    );
    request.on('response', (response) => void readAnswer(response, options.maxResponseBytes).then(resolve, reject));
    request.on('error', (error) => reject(signal.aborted ? timeoutError(options) : error));
    request.end(body);
  });
}

function timeoutError(options: PostOptions): Error {
  return new Error(`no answer within ${options.timeoutMs} ms`);
}
