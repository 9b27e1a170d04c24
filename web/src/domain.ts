// The server's own rules the dashboard applies as you edit, from src/domain: pure modules (no Node, no
// schema library), so the form counts, walks and names a model exactly as the server will.
export { architectureOf } from '../../src/domain/architecture';
export { bundledDataset } from '../../src/domain/datasets';
export { exerciseNetworkNames, exerciseNetworks, exerciseSpec, exerciseTraining } from '../../src/domain/exercise';
export type { ExerciseNetwork } from '../../src/domain/exercise';
export type { LayerSpec } from '../../src/domain/job-spec';
export { formatShape, modelInputShape, walkShapes } from '../../src/domain/model-shape';
export type { ShapeWalk } from '../../src/domain/model-shape';
export { activations, layerTypes, optimizers, paddings } from '../../src/domain/spec-vocabulary';
export { webhookSubscriptions } from '../../src/domain/webhooks';
export type { WebhookSubscription } from '../../src/domain/webhooks';
