import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../src/domain/job-spec.js';
import { runExpiry, runRetention } from '../../src/domain/retention.js';
import { parseSweepSpec } from '../../src/domain/sweeps/parse-sweep.js';
import { smallSpec } from '../helpers/specs.js';

const limits = { maxParameters: 20_000_000 };

const sweep = (retention: unknown) => ({
  name: 'lr',
  base: smallSpec(),
  method: 'grid',
  parameters: { learningRate: { values: [0.01, 0.1] } },
  objective: { metric: 'testAccuracy', goal: 'maximize' },
  retention,
});

const paths = (result: { ok: boolean; issues?: { path: string }[] }) => result.issues?.map((issue) => issue.path);

describe('retention in specs', () => {
  it('takes a number of days or null (kept forever) on a job and on a sweep', () => {
    const job = parseJobSpec(smallSpec({ retention: { days: 30 } }), limits);
    expect(job.ok && job.spec.retention).toEqual({ days: 30 });
    const forever = parseJobSpec(smallSpec({ retention: { days: null } }), limits);
    expect(forever.ok && forever.spec.retention).toEqual({ days: null });
    const swept = parseSweepSpec(sweep({ days: 7 }), limits);
    expect(swept.ok && swept.sweep.retention).toEqual({ days: 7 });
  });

  it.each([{ days: 0 }, { days: 3651 }, { days: 1.5 }, { days: '30' }, {}, { days: 30, hours: 1 }, 30])(
    'refuses a retention of %j naming the field',
    (retention) => {
      const job = parseJobSpec({ ...smallSpec(), retention }, limits);
      expect(job.ok).toBe(false);
      expect(paths(job)?.some((path) => path.startsWith('retention'))).toBe(true);
      const swept = parseSweepSpec(sweep(retention), limits);
      expect(swept.ok).toBe(false);
      expect(paths(swept)?.some((path) => path.startsWith('retention'))).toBe(true);
    },
  );
});

describe('a run’s retention as a job shows it', () => {
  it('names its source, and none for an unknown one or none at all', () => {
    expect(runRetention(30, 'owner')).toEqual({ days: 30, source: 'owner' });
    expect(runRetention(null, 'job')).toEqual({ days: null, source: 'job' });
    expect(runRetention(null, null)).toBeNull();
    expect(runRetention(5, 'constructor')).toBeNull();
  });

  it('has no expiry while pinned', () => {
    const at = new Date('2027-01-03T00:00:00Z');
    expect(runExpiry(at, false)).toBe(at);
    expect(runExpiry(at, true)).toBeNull();
  });
});
