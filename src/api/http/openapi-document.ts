import type { OpenAPIV3_1 } from 'openapi-types';
import pino from 'pino';
import { buildApp } from './app.js';
import type { DatasetExamples } from '../../datasets/examples/examples.js';
import type { DatasetsService } from '../datasets/datasets-service.js';
import type { EventHub } from '../streams/event-hub.js';
import type { HealthChecks } from '../health/health.js';
import type { JobsService } from '../jobs/jobs-service.js';
import type { KeysService } from '../keys/keys-service.js';
import type { ModelsService } from '../models/models-service.js';
import type { SweepsService } from '../sweeps/sweeps-service.js';
import type { OwnerSettingsService } from '../owners/owner-settings-service.js';
import type { RetentionService } from '../retention/retention-service.js';
import type { UsageService } from '../usage/usage-service.js';
import type { WebhooksService } from '../webhooks/webhooks-service.js';

// Routes call their services only while answering a request; registering them reads none. So the
// document of a server with every feature can be had from services that are never called.
const neverCalled = {};
const unsubscribed = () => Promise.resolve(() => Promise.resolve());
const quietHub: EventHub = { subscribeJob: unsubscribed, subscribeAll: unsubscribed, onReconnect: () => undefined };
const noChecks: HealthChecks = {
  database: () => Promise.resolve(),
  redis: () => Promise.resolve(),
  workers: () => Promise.resolve([]),
};

/**
 * The OpenAPI document the API serves at GET /openapi.json with every feature on (datasets, sweeps,
 * models, keys, webhooks, usage, retention), built without a database, Redis or a port. The client package is generated from it.
 */
export async function openApiDocument(): Promise<OpenAPIV3_1.Document> {
  const app = buildApp({
    jobs: neverCalled as JobsService,
    datasets: neverCalled as DatasetsService,
    sweeps: neverCalled as SweepsService,
    models: neverCalled as ModelsService,
    keys: neverCalled as KeysService,
    webhooks: neverCalled as WebhooksService,
    usage: neverCalled as UsageService,
    retention: neverCalled as RetentionService,
    ownerSettings: neverCalled as OwnerSettingsService,
    datasetExamples: neverCalled as DatasetExamples,
    hub: quietHub,
    health: noChecks,
    logger: pino({ enabled: false }),
    bodyLimit: 1024 * 1024,
  });
  try {
    await app.ready();
    return app.swagger() as OpenAPIV3_1.Document;
  } finally {
    await app.close();
  }
}
