import type { Redis } from '../../queue/redis.js';

/** One counted hit: how many hits the window holds now and when it ends. */
export interface Hit {
  count: number;
  /** Milliseconds until the window ends and the count starts again. */
  resetMs: number;
}

/** Counts hits per (limit, subject) in fixed windows, shared by every API process on the same Redis and prefix. */
export interface RateLimiter {
  hit: (limit: string, subject: string, windowMs: number) => Promise<Hit>;
}

// INCR and PEXPIRE in one script, so a window always gets its expiry even if a process dies in
// between, and every process sees the same count. A key left without a TTL (it cannot happen
// through this script, but a restore could do it) gets one instead of counting for ever.
const hitScript = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}`;

const commandName = 'trainerRateLimitHit';

interface WithHitCommand {
  [commandName]: (key: string, windowMs: number) => Promise<[number, number]>;
}

/**
 * The script as a command of the connection (ioredis `defineCommand`, as @fastify/rate-limit does):
 * each hit sends only the script's SHA-1 (EVALSHA), and ioredis loads the script again by itself
 * when Redis answers NOSCRIPT (after a restart or SCRIPT FLUSH).
 */
function hitCommand(redis: Redis): WithHitCommand[typeof commandName] {
  if (!(commandName in redis)) redis.defineCommand(commandName, { numberOfKeys: 1, lua: hitScript });
  const defined = redis as Redis & WithHitCommand;
  return (key, windowMs) => defined[commandName](key, windowMs);
}

/** A fixed-window limiter on Redis; keys live under `<prefix>:limit:`. */
export function createRateLimiter(redis: Redis, prefix: string): RateLimiter {
  const hit = hitCommand(redis);
  return {
    async hit(limit, subject, windowMs) {
      const [count, resetMs] = await hit(`${prefix}:limit:${limit}:${subject}`, windowMs);
      return { count, resetMs };
    },
  };
}
