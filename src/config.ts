import os from 'node:os';
import { z } from 'zod';
import { defaultMaxExampleBytes } from './domain/datasets.js';
import { accelerators } from './domain/spec-vocabulary.js';
import { defaultGpuQueueName, trainingQueueName } from './queue/training-queue.js';
import { parseS3Url, type S3Target } from './store/artifacts/s3-location.js';

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false'], 'must be true or false')
    .default(fallback)
    .transform((value) => value === 'true');

/** ARTIFACT_STORE: "postgres", or an S3 bucket and key prefix from s3://bucket/prefix. */
const artifactStore = z
  .string()
  .default('postgres')
  .transform((value, context): 'postgres' | S3Target => {
    if (value === 'postgres') return 'postgres';
    const parsed = parseS3Url(value);
    if ('problem' in parsed) {
      context.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return parsed;
  });

/** The environment this process reads, with local defaults (Postgres and Redis on localhost). */
const envSchema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .default('postgresql://postgres@127.0.0.1:5432/trainer'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(0, 65535).default(3000),
  // GET /metrics on a port of its own (on HOST) instead of PORT, e.g. one only the scraper reaches.
  METRICS_PORT: integer(0, 65535).optional(),
  // How often a worker publishes its metrics to Redis for the API's scrape.
  METRICS_PUBLISH_MS: integer(100, 600_000).default(5000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]+$/, 'letters, digits, ":", "_" and "-" only')
    .default('trainer'),
  WORKER_CONCURRENCY: integer(1, 64).default(os.availableParallelism()),
  TRAINING_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  // A training thread no job needs helps a running dense job with its steps until a job needs it.
  WORKER_LEND_IDLE_THREADS: flag('true'),
  MAX_PARAMETERS: integer(1, 2_000_000_000).default(20_000_000),
  // WebAssembly memory tops out at 4 GiB; keep a job's estimate well below it.
  MAX_JOB_MEMORY_BYTES: integer(1024 * 1024, 1024 ** 4).default(2 * 1024 ** 3),
  // A training thread's WebAssembly heap never shrinks: past this, the thread is replaced after its job.
  TRAINING_THREAD_MAX_HEAP_BYTES: integer(64 * 1024 * 1024, 1024 ** 4).default(1024 ** 3),
  BODY_LIMIT_BYTES: integer(1024, 64 * 1024 * 1024).default(1024 * 1024),
  // POST /jobs/:id/predict alone: 1,000 inputs of 784 numbers are about 4 MB of JSON, 1,000 images more.
  PREDICT_BODY_LIMIT_BYTES: integer(1024, 256 * 1024 * 1024).default(16 * 1024 * 1024),
  // Bytes the images of one prediction request may decode to (width x height x channels x bytes a
  // sample, from their headers): one 4096x4096 16-bit RGBA PNG by default. This bounds how long one
  // request holds a decoder thread and how much memory it takes there.
  PREDICT_MAX_DECODED_BYTES: integer(1024 * 1024, 2 ** 40).default(128 * 1024 * 1024),
  // Threads of the API that decode images for predictions, apart from the inference threads; one
  // leaves the other core of a two-core machine to the event loop and the predictions.
  PREDICT_DECODE_THREADS: integer(1, 64).default(1),
  // Inference threads of the API; each holds its own cache of loaded models.
  PREDICT_THREADS: integer(1, 64).default(Math.max(1, Math.min(2, os.availableParallelism()))),
  // Bound of the API's cache of model files, and of each inference thread's cache of loaded models.
  MODEL_CACHE_BYTES: integer(1024 * 1024, 64 * 1024 ** 3).default(256 * 1024 * 1024),
  // Bound of the API's cache of finished jobs' downsampled loss histories (0: none kept).
  HISTORY_CACHE_BYTES: integer(0, 2 ** 40).default(64 * 1024 * 1024),
  // Unsent bytes one WebSocket client may have in the API; a replay pauses at a quarter of them,
  // and a client still past them when a live message is due is disconnected (1008; it resumes with ?since=).
  WS_MAX_BUFFERED_BYTES: integer(64 * 1024, 1024 ** 3).default(256 * 1024),
  // How long a replay waits for a WebSocket client to read down to that quarter before closing it (1008).
  WS_SLOW_CLIENT_MS: integer(100, 3_600_000).default(10_000),
  STEP_FLUSH_MS: integer(10, 60_000).default(250),
  STEP_FLUSH_COUNT: integer(1, 100_000).default(1000),
  SHUTDOWN_TIMEOUT_MS: integer(100, 600_000).default(10_000),
  RECONCILE_INTERVAL_MS: integer(1000, 3_600_000).default(30_000),
  // What this worker trains on: "cpu" workers take the training queue, "gpu" workers only the
  // queue of jobs that asked for a GPU (TRAINING_QUEUE_GPU, a BullMQ queue name).
  WORKER_ACCELERATOR: z.enum(accelerators).default('cpu'),
  TRAINING_QUEUE_GPU: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be a queue name: letters, digits, "_" and "-", at most 64')
    .refine((name) => name !== trainingQueueName, `must differ from the training queue "${trainingQueueName}"`)
    .default(defaultGpuQueueName),
  MAX_ATTEMPTS: integer(1, 100).default(3),
  // The longest delay a Node timer takes (about 24.8 days).
  MAX_TRAINING_MS: integer(1000, 2_147_483_647).default(24 * 3_600_000),
  CHECKPOINT_EVERY_STEPS: integer(0, 10_000_000).default(0),
  // A run keeps the checkpoints of its last this many finished epochs, and of its best one, after it ends.
  CHECKPOINT_KEEP_LAST: integer(1, 10_000).default(3),
  STORE_RETRY_MS: integer(0, 3_600_000).default(120_000),
  LOCK_DURATION_MS: integer(1000, 600_000).default(30_000),
  STALLED_INTERVAL_MS: integer(500, 600_000).default(15_000),
  // Dataset uploads: bytes one upload may send, examples (train + test) one dataset may have, stored
  // bytes of all datasets together, and where uploads are unpacked while they are validated.
  DATASET_MAX_UPLOAD_BYTES: integer(1024, 2 ** 50).default(1024 ** 3),
  DATASET_MAX_EXAMPLES: integer(2, 1_000_000_000).default(2_000_000),
  DATASET_MAX_TOTAL_BYTES: integer(1024, 2 ** 50).default(50 * 1024 ** 3),
  DATASET_TMP_DIR: z.string().min(1).default(os.tmpdir()),
  // The largest example (its stored bytes) an upload may have; refused from a file's header or first row.
  DATASET_MAX_EXAMPLE_BYTES: integer(1, 1024 ** 3).default(defaultMaxExampleBytes),
  // A worker's decoded datasets kept in memory for the next job on them.
  DATASET_CACHE_BYTES: integer(0, 2 ** 50).default(2 * 1024 ** 3),
  // Access control (README "Access control"). AUTH defaults by HOST: see authMode().
  AUTH: z.enum(['off', 'required']).optional(),
  ADMIN_API_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  // How long an API process trusts a key it looked up, and how many it remembers (0 ms: none).
  API_KEY_CACHE_MS: integer(0, 300_000).default(5000),
  API_KEY_CACHE_ENTRIES: integer(1, 10_000_000).default(10_000),
  // Comma-separated origins allowed to call the API from a browser; CORS is off when unset.
  CORS_ORIGINS: z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((origin) => origin.trim())
        .filter((origin) => origin !== ''),
    )
    .pipe(z.array(z.url('must be a comma-separated list of origins like https://example.com')))
    .default([]),
  // 0 turns a limit off.
  RATE_LIMIT_REQUESTS_PER_MINUTE: integer(0, 10_000_000).default(600),
  RATE_LIMIT_SUBMISSIONS_PER_MINUTE: integer(0, 10_000_000).default(60),
  MAX_ACTIVE_JOBS_PER_OWNER: integer(0, 10_000_000).default(20),
  MAX_FAILED_AUTH_PER_MINUTE: integer(0, 10_000_000).default(30),
  // Stored bytes of one owner's uploaded datasets together.
  DATASET_OWNER_MAX_BYTES: integer(0, 2 ** 50).default(10 * 1024 ** 3),
  // Where models, kept checkpoints and datasets are stored (README "Artifacts in object storage"):
  // "postgres", or s3://bucket/prefix in any S3-compatible store. Credentials come from the AWS SDK's
  // default chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, an instance role).
  ARTIFACT_STORE: artifactStore,
  // The store's URL (MinIO: http://minio:9000); AWS's own for the region when unset.
  S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL like http://minio:9000' }).optional(),
  S3_REGION: z.string().min(1).default('us-east-1'),
  // Buckets in the URL's path, not its host name: what MinIO and most self-hosted stores want.
  S3_FORCE_PATH_STYLE: flag('false'),
  // Attempts of each S3 request, the SDK's own retries included.
  S3_MAX_ATTEMPTS: integer(1, 20).default(3),
  // Downloads of artifacts in object storage answer 302 to a presigned URL valid this long, instead of
  // streaming through the API.
  ARTIFACT_REDIRECTS: flag('false'),
  ARTIFACT_REDIRECT_SECONDS: integer(1, 7 * 24 * 3600).default(300),
  // How often the objects of deleted artifacts are deleted: one pass per interval across the workers (a
  // cluster task), and by each API process; also right after a delete.
  ARTIFACT_DELETION_INTERVAL_MS: integer(100, 3_600_000).default(30_000),
  // How long a worker keeps retrying to store a model or checkpoint while the artifact store is down;
  // training goes on meanwhile, and the job ends only once its models are stored.
  ARTIFACT_RETRY_MS: integer(0, 7 * 24 * 3_600_000).default(3_600_000),
  // Webhooks (README "Webhooks"). Their signing secrets are sealed under a key derived from this;
  // without it, webhooks are off. Keep it out of the database's backups.
  WEBHOOK_SECRET_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  // Lets webhooks reach loopback, private, link-local and metadata addresses (a receiver on this network).
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: flag('false'),
  WEBHOOK_TIMEOUT_MS: integer(100, 60_000).default(5000),
  WEBHOOK_MAX_RESPONSE_BYTES: integer(0, 16 * 1024 * 1024).default(64 * 1024),
  // Retries: exponential from the base, each delay at most the max, with full jitter; given up after RETRY_FOR.
  WEBHOOK_RETRY_BASE_MS: integer(1, 3_600_000).default(10_000),
  WEBHOOK_RETRY_MAX_DELAY_MS: integer(1, 24 * 3_600_000).default(3_600_000),
  WEBHOOK_RETRY_FOR_MS: integer(0, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  // A webhook whose deliveries all fail for this long is disabled.
  WEBHOOK_DISABLE_AFTER_MS: integer(0, 30 * 24 * 3_600_000).default(24 * 3_600_000),
  // How often a worker moves new events from the outbox to the delivery queue.
  WEBHOOK_RELAY_INTERVAL_MS: integer(10, 60_000).default(500),
  // A pending delivery this late has lost its queue message (a Redis flush) and is queued again.
  WEBHOOK_REQUEUE_AFTER_MS: integer(100, 3_600_000).default(60_000),
  // Attempts a worker has in flight at once.
  WEBHOOK_CONCURRENCY: integer(1, 1000).default(16),
  // Webhooks one owner may have: every event is sent to each of them.
  WEBHOOK_MAX_PER_OWNER: integer(1, 10_000).default(20),
  // Deliveries (and their attempts) are kept this long for GET /webhooks/:id/deliveries.
  WEBHOOK_HISTORY_DAYS: integer(1, 3650).default(30),
  // Retention (README "Retention"): days a finished run is kept when neither it, its sweep nor its
  // owner says; unset keeps runs forever. Give every API and worker process the same value.
  RUN_RETENTION_DAYS: integer(1, 3650).optional(),
  // How often the cluster's one retention purge runs, how many runs it deletes per statement and the
  // pause between those batches (the API's queries get the database in between).
  RETENTION_INTERVAL_SECONDS: integer(1, 7 * 24 * 3600).default(600),
  RETENTION_BATCH_SIZE: integer(1, 10_000).default(50),
  RETENTION_PAUSE_MS: integer(0, 60_000).default(200),
});

export type Config = Readonly<z.infer<typeof envSchema>>;

/** A configuration problem: names every bad variable and why. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment once; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset so `PORT= npm start` behaves like no PORT at all.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.');
        return `${name}=${JSON.stringify(present[name] ?? '')}: ${issue.message}`;
      }),
    );
  }
  return Object.freeze(parsed.data);
}

/** Whether a listen address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * AUTH as set, or by HOST when unset: off on a loopback address (local use stays two commands),
 * required on any other. So a server that listens on the network without keys was asked to, in
 * so many words; start-up warns about it.
 */
export function authMode(config: Config): 'off' | 'required' {
  return config.AUTH ?? (isLoopback(config.HOST) ? 'off' : 'required');
}
