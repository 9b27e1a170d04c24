import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Where an API key or a webhook secret could appear in a log line: request headers, were anything to log them (fastify's
 * own request lines do not). Keys never travel in URLs, so URLs need no redaction.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["sec-websocket-protocol"]',
  'headers.authorization',
  'headers["sec-websocket-protocol"]',
  // A webhook's signing secret and a delivery's signature, were anything to log them.
  'secret',
  '*.secret',
  'headers["trainer-signature"]',
];

/** A pino logger; human-readable when stdout is a terminal, JSON lines otherwise. */
export function createLogger(options: { level: string; name: string }): Logger {
  const pretty = process.stdout.isTTY === true;
  return pino({
    name: options.name,
    level: options.level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}
