import type { JobSpec } from '../domain/job-spec.js';
import type { Dataset } from '../datasets/loading/index.js';
import type { BackendName } from '../training/backend.js';
import { HelperLink } from '../training/split/helper-link.js';
import { splitShapeOf, worthLending } from '../training/split/lending.js';
import type { HelpRequest, ThreadMessage } from './thread-protocol.js';
import { fateOf, type Slot } from './training-slot.js';

/** A thread lent to a job: its link, and when the thread is back. */
interface Loan {
  link: HelperLink;
  returned: Promise<void>;
}

/**
 * The pool's lending of idle threads: a running job that may borrow one (`borrow`) gets a thread no
 * job uses, which helps with its steps (src/training/split) until a job needs a thread and none is
 * free (`takeFreeSlot` recalls it: it leaves at the end of the step it is in) or the job ends.
 */
export class ThreadLending {
  /** Jobs that may borrow a thread, by link, and the thread each has. */
  private readonly borrowers = new Map<HelperLink, Slot | undefined>();
  private readonly loans = new Map<Slot, Loan>();
  private readonly started = new WeakSet<Slot>();
  private readonly watched = new WeakSet<Slot>();

  /**
   * `replace` replaces a thread in `slots` that died, or whose heap grew past `maxHeapBytes` (or
   * that holds tensors) while it helped: its heap would never shrink again.
   */
  constructor(
    private readonly slots: Slot[],
    readonly enabled: boolean,
    private readonly replace: (slot: Slot) => void,
    private readonly maxHeapBytes = Number.POSITIVE_INFINITY,
  ) {}

  private idle(slot: Slot): boolean {
    return !slot.busy && !this.loans.has(slot);
  }

  /** A link for a job of `spec` a lent thread can help, when lending is on and the job gains from it. */
  linkFor(spec: JobSpec, dataset: Dataset, backend: BackendName): HelperLink | undefined {
    if (!this.enabled || backend !== 'wasm') return undefined;
    const features = dataset.info.inputShape.reduce((product, dimension) => product * dimension, 1);
    const shape = splitShapeOf(spec.model.layers, features, spec.batchSize);
    return shape && worthLending(shape) ? HelperLink.create(shape) : undefined;
  }

  lentThreads(): number {
    return this.loans.size;
  }

  // Only threads that are up are lent: one still starting may yet fail to.
  private watchStarts(): void {
    for (const slot of this.slots) {
      if (this.watched.has(slot)) continue;
      this.watched.add(slot);
      slot.ready.then(
        () => {
          this.started.add(slot);
          this.lendIdle();
        },
        () => undefined,
      );
    }
  }

  private lend(slot: Slot, link: HelperLink): void {
    const { thread } = slot;
    const returned = new Promise<void>((resolve) => {
      const done = (spent: boolean) => {
        thread.off('message', onMessage);
        thread.off('exit', onExit);
        this.loans.delete(slot);
        if (this.borrowers.get(link) === slot) this.borrowers.set(link, undefined);
        if (spent) this.replace(slot);
        resolve();
        this.lendIdle();
      };
      const onMessage = (message: ThreadMessage) => {
        if (message.type === 'helped') done(fateOf(message, this.maxHeapBytes) !== 'reusable');
      };
      const onExit = () => {
        link.helperDied();
        done(true);
      };
      thread.on('message', onMessage);
      thread.once('exit', onExit);
    });
    this.loans.set(slot, { link, returned });
    this.borrowers.set(link, slot);
    const request: HelpRequest = { type: 'help', link: { shape: link.shape, buffer: link.buffer } };
    thread.postMessage(request);
  }

  /** Lends each idle thread that is up to a job that may borrow one and has none. */
  lendIdle(): void {
    if (!this.enabled) return;
    this.watchStarts();
    for (const [link, helper] of this.borrowers) {
      if (helper) continue;
      const slot = this.slots.find((candidate) => this.idle(candidate) && this.started.has(candidate));
      if (!slot) return;
      if (link.lend()) this.lend(slot, link);
    }
  }

  /** `link`'s job is running and may borrow a thread. */
  borrow(link: HelperLink): void {
    this.borrowers.set(link, undefined);
    this.lendIdle();
  }

  /** `link`'s job has ended: a helper it had leaves (its thread closes the link too, unless it died). */
  forget(link: HelperLink): void {
    this.borrowers.delete(link);
    link.close();
  }

  /**
   * A thread for a new job, marked busy: an idle one, else one lent to a job, recalled (it comes
   * back at the end of that job's current step). Undefined when every thread trains a job.
   */
  async takeFreeSlot(): Promise<Slot | undefined> {
    const free = this.slots.find((candidate) => this.idle(candidate));
    if (free) {
      free.busy = true;
      return free;
    }
    const lent = this.slots.find((candidate) => !candidate.busy && this.loans.has(candidate));
    const loan = lent && this.loans.get(lent);
    if (!lent || !loan) return undefined;
    lent.busy = true;
    const index = this.slots.indexOf(lent);
    loan.link.recall();
    await loan.returned;
    if (this.slots[index] === lent) return lent;
    // It died while lent: its replacement takes the job.
    const replacement = this.slots[index];
    if (!replacement || replacement.busy) return undefined;
    replacement.busy = true;
    return replacement;
  }
}
