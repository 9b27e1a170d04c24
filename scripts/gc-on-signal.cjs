/* global process */
// Preloaded (with --expose-gc) into a service under a memory test or benchmark: SIGUSR2 runs a full garbage
// collection, so the test measures what the process still holds rather than when V8 last collected.
process.on('SIGUSR2', () => globalThis.gc?.());
