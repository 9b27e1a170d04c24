import { describeIssues, parseJobSpec, type JobSpec, type SpecIssue, type SpecLimits } from '../job-spec.js';
import { bundledDataset, type DatasetInfo } from '../datasets.js';
import { validationSampleCount } from '../model-shape.js';
import { gridSize, gridValues, randomValues, type ParameterValues } from './generate.js';
import {
  issuePath,
  parseSpecPath,
  pathProblem,
  prototypeSegmentOf,
  withValueAt,
  type PathSegment,
} from './spec-path.js';
import { sweepSpecSchema, type SweepConfig, type SweepParameter, type SweepSpec } from './sweep-spec.js';

export type SweepParseResult =
  { ok: true; sweep: SweepSpec; configs: SweepConfig[] } | { ok: false; issues: SpecIssue[] };

const issue = (path: string, message: string): SpecIssue => ({ path, message });

/** The base as each run starts from it: the sweep's seed when the base has none, so runs are comparable. */
function runBase(sweep: SweepSpec): Record<string, unknown> {
  return { ...sweep.base, seed: sweep.base.seed ?? sweep.seed ?? 0 };
}

/** Problems of one parameter on its own: its path, its distribution's bounds, and each value a job would reject. */
function parameterIssues(
  sweep: SweepSpec,
  path: string,
  parameter: SweepParameter,
  limits: SpecLimits,
  dataset?: DatasetInfo,
): SpecIssue[] {
  const where = `parameters.${path}`;
  const refused = prototypeSegmentOf(path.split(/[.[\]]/));
  if (refused !== undefined)
    return [issue(where, `"${refused}" is not a field of a job spec; a path cannot go through it`)];
  const segments = parseSpecPath(path);
  if (!segments)
    return [issue(where, 'is not a path into the job spec (like "learningRate" or "model.layers[0].units")')];
  const problem = pathProblem(sweep.base, segments);
  if (problem) return [issue(where, `unknown path: ${problem}`)];
  if ('distribution' in parameter) {
    if (sweep.method === 'grid') return [issue(where, 'a grid sweep takes "values", not a distribution')];
    const { distribution, min, max } = parameter;
    if (min > max) return [issue(where, 'min must not be greater than max')];
    if (distribution === 'logUniform' && min <= 0) return [issue(where, 'logUniform needs min greater than 0')];
    if (distribution === 'intUniform' && (!Number.isInteger(min) || !Number.isInteger(max)))
      return [issue(where, 'intUniform needs integer min and max')];
  }
  const probes = 'values' in parameter ? parameter.values : [parameter.min, parameter.max];
  for (const value of probes) {
    const problems = valueIssues(sweep, segments, value, limits, dataset);
    if (problems) return [issue(where, problems)];
  }
  return [];
}

/** Why a job would reject `value` at `segments` of the base, or undefined when it takes it. */
function valueIssues(
  sweep: SweepSpec,
  segments: PathSegment[],
  value: unknown,
  limits: SpecLimits,
  dataset?: DatasetInfo,
): string | undefined {
  const parsed = parseJobSpec(withValueAt(runBase(sweep), segments, value), limits, dataset);
  if (parsed.ok) return undefined;
  const target = issuePath(segments);
  if (parsed.issues.some((problem) => problem.message === 'unknown field' && target.startsWith(problem.path)))
    return `unknown path: ${target} is not a field of a job spec`;
  return `value ${JSON.stringify(value)} is rejected: ${parsed.issues.map((problem) => `${problem.path}: ${problem.message}`).join('; ')}`;
}

/** The parameter values of every configuration, in order, or the issue that stops generating them. */
function configurationValues(sweep: SweepSpec): ParameterValues[] | SpecIssue {
  if (sweep.method === 'grid') {
    const size = gridSize(sweep.parameters);
    if (sweep.maxRuns !== undefined && size > sweep.maxRuns)
      return issue('maxRuns', `the grid has ${size} configurations, more than maxRuns (${sweep.maxRuns})`);
    if (size > 1000) return issue('parameters', `the grid has ${size} configurations; at most 1000`);
    return gridValues(sweep.parameters);
  }
  if (sweep.maxRuns === undefined) return issue('maxRuns', 'a random sweep needs maxRuns');
  return randomValues(sweep.parameters, sweep.maxRuns, sweep.seed ?? 0);
}

/** Applies each configuration's values to the base and validates it with the one job-spec schema. */
function configurations(
  sweep: SweepSpec,
  values: ParameterValues[],
  limits: SpecLimits,
  dataset?: DatasetInfo,
): { configs: SweepConfig[] } | { issue: SpecIssue } {
  const configs: SweepConfig[] = [];
  for (const [index, parameters] of values.entries()) {
    let input: unknown = { ...runBase(sweep), name: `${sweep.name} #${index + 1}` };
    for (const [path, value] of Object.entries(parameters))
      input = withValueAt(input, parseSpecPath(path) as PathSegment[], value);
    const parsed = parseJobSpec(input, limits, dataset);
    if (!parsed.ok) {
      const message = parsed.issues.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
      return { issue: issue('parameters', `configuration ${JSON.stringify(parameters)} is rejected: ${message}`) };
    }
    configs.push({ index, parameters, spec: parsed.spec });
  }
  return { configs };
}

/** The dataset a generated spec names: `dataset` when it is that one, else a bundled one. */
function infoOf(spec: JobSpec, dataset?: DatasetInfo): DatasetInfo {
  const info = dataset?.name === spec.dataset ? dataset : bundledDataset(spec.dataset);
  // A spec parses only when its dataset was found.
  if (!info) throw new Error(`dataset ${spec.dataset} vanished while parsing`);
  return info;
}

function objectiveIssues(sweep: SweepSpec, specs: readonly JobSpec[], dataset?: DatasetInfo): SpecIssue[] {
  const metric = sweep.objective.metric;
  if (metric.startsWith('validation') && specs.some((spec) => validationSampleCount(spec, infoOf(spec, dataset)) === 0))
    return [
      issue(
        'objective.metric',
        `${metric} needs a validation split in every run (validationSamples or validationFraction)`,
      ),
    ];
  const rule = sweep.earlyTermination;
  if (rule && specs.every((spec) => rule.minEpochs >= spec.epochs))
    return [issue('earlyTermination.minEpochs', "must be less than the runs' epochs, or nothing is ever stopped")];
  return [];
}

/**
 * Validates a sweep spec and generates its configurations: the shape, the base as a job spec, each
 * parameter (path and values), the grid's size against maxRuns, and every generated spec with the
 * job-spec schema. The same spec and seed always give the same configurations in the same order.
 * `dataset` is the uploaded dataset the base names, looked up first (see parseJobSpec).
 */
export function parseSweepSpec(input: unknown, limits: SpecLimits, dataset?: DatasetInfo): SweepParseResult {
  const shaped = sweepSpecSchema.safeParse(input);
  if (!shaped.success) return { ok: false, issues: describeIssues(shaped.error.issues) };
  const sweep = shaped.data;
  const base = parseJobSpec(runBase(sweep), limits, dataset);
  if (!base.ok)
    return { ok: false, issues: base.issues.map((problem) => issue(`base.${problem.path}`, problem.message)) };
  const issues = Object.entries(sweep.parameters).flatMap(([path, parameter]) =>
    parameterIssues(sweep, path, parameter, limits, dataset),
  );
  if (issues.length > 0) return { ok: false, issues };
  const values = configurationValues(sweep);
  if (!Array.isArray(values)) return { ok: false, issues: [values] };
  const generated = configurations(sweep, values, limits, dataset);
  if ('issue' in generated) return { ok: false, issues: [generated.issue] };
  const { configs } = generated;
  const objective = objectiveIssues(
    sweep,
    configs.map((config) => config.spec),
    dataset,
  );
  if (objective.length > 0) return { ok: false, issues: objective };
  return { ok: true, sweep, configs };
}
