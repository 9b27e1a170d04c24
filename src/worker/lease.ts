export interface LeaseOptions {
  /** How often the lease is renewed; a third of its length leaves two chances before it runs out. */
  renewEveryMs: number;
  /** Called once, when a renewal finds that the lease is held by someone else now. */
  onLost(): void;
  /** A renewal that failed (the store is unreachable); the next one tries again. */
  onRenewError?(error: unknown): void;
}

/**
 * An attempt's claim on a job, kept alive by renewing it every `renewEveryMs` from `start` to
 * `stop` (after BullMQ's LockManager). Losing it means another worker has taken the job over, so
 * this attempt must stop writing: `lost` turns true and `onLost` is called, once.
 */
export class JobLease {
  #timer: NodeJS.Timeout | undefined;
  #lost = false;

  /** `renew` extends the lease in the store; false when this attempt no longer holds it. */
  constructor(
    private readonly renew: () => Promise<boolean>,
    private readonly options: LeaseOptions,
  ) {}

  get lost(): boolean {
    return this.#lost;
  }

  start(): void {
    if (this.#timer || this.#lost) return;
    this.#timer = setInterval(() => void this.#extend(), this.options.renewEveryMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #extend(): Promise<void> {
    try {
      const held = await this.renew();
      // A renewal that answers after `stop` no longer concerns anyone.
      if (held || this.#lost || !this.#timer) return;
      this.#lost = true;
      this.stop();
      this.options.onLost();
    } catch (error) {
      this.options.onRenewError?.(error);
    }
  }
}
