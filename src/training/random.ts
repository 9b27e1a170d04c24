// The seeded PRNG lives in the domain (sweeps draw their configurations with it too); training uses the same one.
export { Random } from '../domain/random.js';
