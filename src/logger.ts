import pino, { type Logger } from 'pino';

export type { Logger };

/** A pino logger; human-readable when stdout is a terminal, JSON lines otherwise. */
export function createLogger(options: { level: string; name: string }): Logger {
  const pretty = process.stdout.isTTY === true;
  return pino({
    name: options.name,
    level: options.level,
    ...(pretty
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } }
      : {}),
  });
}
