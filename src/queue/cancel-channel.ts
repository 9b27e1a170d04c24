import type { Redis } from 'ioredis';

/** The Redis channel on which API processes announce cancel requests to the workers of a queue prefix. */
export const cancelChannel = (prefix: string): string => `${prefix}:cancel`;

/** Tells every worker of this prefix that a job's cancel was committed; the worker holding it stops it. */
export async function announceCancel(redis: Redis, prefix: string, jobId: string): Promise<void> {
  await redis.publish(cancelChannel(prefix), jobId);
}
