import type { Client, FetchResponse } from 'openapi-fetch';
import type { components, operations, paths } from './schema.js';

/** Every operation of the API, typed from its OpenAPI document (openapi-fetch). */
export type TrainerApi = Client<paths>;

// The API's shapes under their own names, all taken from the generated schema: answers as the server
// sends them, request bodies as a client may write them (defaults left out).

/**
 * A schema's type as openapi-fetch's calls take and resolve with it: the same, except that a
 * fixed-length array (a window size `[3, 5]`) is typed as an array of any length. Every name below is
 * seen through it, so `const job: Job = await unwrap(api.GET('/jobs/{id}', …))` type-checks.
 */
type Fetched<T> = NonNullable<
  FetchResponse<{ responses: { 200: { content: { 'application/json': T } } } }, object, 'application/json'>['data']
>;

type Schemas = { [Name in keyof components['schemas']]: Fetched<components['schemas'][Name]> };

export type Job = Schemas['Job'];
export type JobStatus = Schemas['JobStatus'];
/** A job spec as submitted: fields with a default may be left out. */
export type JobSpecInput = Schemas['JobSpecInput'];
/** A job spec as the server stored it, every default filled in. */
export type JobSpec = Schemas['JobSpec'];
export type LayerSpecInput = JobSpecInput['model']['layers'][number];
export type LayerSpec = JobSpec['model']['layers'][number];
export type RunSummary = Schemas['RunSummary'];
export type RunList = Schemas['RunList'];
export type EpochMetrics = Schemas['EpochMetrics'];
export type StepLoss = Schemas['StepLoss'];
export type History = Schemas['History'];
export type Comparison = Schemas['Comparison'];
export type Health = Schemas['Health'];
export type DatasetSummary = Schemas['DatasetSummary'];
export type Dataset = Schemas['Dataset'];
export type DatasetList = Fetched<operations['listDatasets']['responses'][200]['content']['application/json']>;
export type Evaluation = Schemas['Evaluation'];
export type Predictions = Schemas['Predictions'];
export type Prediction = Predictions['predictions'][number];
export type Whoami = Schemas['Whoami'];
export type ApiKey = Schemas['ApiKey'];
export type CreatedApiKey = Schemas['CreatedApiKey'];
export type Sweep = Schemas['Sweep'];
export type SweepSummary = Schemas['SweepSummary'];
export type SweepList = Schemas['SweepList'];
export type SweepLeaderboardEntry = Schemas['SweepLeaderboardEntry'];
export type SweepParameterSpread = Schemas['SweepParameterSpread'];
export type SweepRunCounts = Schemas['SweepRunCounts'];
export type Webhook = Schemas['Webhook'];
/** A webhook as POST /webhooks answers it, the only time its signing secret is shown. */
export type CreatedWebhook = Schemas['CreatedWebhook'];
export type WebhookDelivery = Schemas['WebhookDelivery'];
export type WebhookDeliveryAttempt = WebhookDelivery['attemptLog'][number];
/** A webhook as submitted. */
export type WebhookInput = Fetched<
  NonNullable<operations['createWebhook']['requestBody']>['content']['application/json']
>;
/** A sweep spec as submitted. */
export type SweepSpecInput = Fetched<
  NonNullable<operations['createSweep']['requestBody']>['content']['application/json']
>;

/** A message of WS /jobs/:id/events: a batch of steps, an epoch's metrics, or a status. */
export type JobStreamMessage = Fetched<operations['streamJobEvents']['responses'][101]['content']['application/json']>;
export type StepsMessage = Schemas['StepsMessage'];
export type EpochMessage = Schemas['EpochMessage'];
export type StatusMessage = Schemas['StatusMessage'];
/** A message of WS /events: the epochs and statuses of every job the key may see. */
export type AllJobsMessage = Fetched<operations['streamAllJobEvents']['responses'][101]['content']['application/json']>;
/** A message of WS /sweeps/:id/events. */
export type SweepEvent = Schemas['SweepEvent'];

/** The body of every error answer. */
export type ErrorBody = Schemas['Error'];
/** One bad field of a request: its path (`model.layers.2.units`) and what is wrong with it. */
export type FieldIssue = NonNullable<ErrorBody['issues']>[number];
