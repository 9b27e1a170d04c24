// The words a run is described with, whoever stores it: its statuses, how runs sort, which of its
// models is which. The store checks at compile time that its database enums say the same.

/** Every status a job can have, in the order a job goes through them. */
export const jobStatuses = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** The statuses a job ends in; none of them is ever left. */
export const terminalStatuses = ['completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];
export type TerminalStatus = (typeof terminalStatuses)[number];

/** What a run listing may be sorted by. */
export const runSorts = ['created', 'finalAccuracy', 'bestAccuracy', 'duration'] as const;
export type RunSort = (typeof runSorts)[number];

/** A run's kept models: the last epoch's and the best epoch's. */
export const modelVersions = ['final', 'best'] as const;
export type ModelVersion = (typeof modelVersions)[number];

/** `true` when `A` and `B` are the same union, `never` otherwise: for compile-time checks that two lists agree. */
export type SameUnion<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
