import { useEffect, useState } from 'preact/hooks';
import { api, unwrap } from './api';

// What this API server can do, read once from its OpenAPI document: parts of the dashboard that need
// routes added later (deleting runs, trained models, predictions) appear when the server has them.

export interface Capabilities {
  deleteJob: boolean;
  model: boolean;
  predict: boolean;
  evaluation: boolean;
  exampleImages: boolean;
}

const none: Capabilities = { deleteJob: false, model: false, predict: false, evaluation: false, exampleImages: false };

let loaded: Promise<Capabilities> | undefined;

function read(): Promise<Capabilities> {
  // Read at run time, not from the generated types: a dashboard may meet an older or newer server.
  loaded ??= unwrap(api.GET('/openapi.json')).then(
    (document) => {
      const paths = (document.paths ?? {}) as Record<string, Record<string, unknown> | undefined>;
      const has = (path: string, method: string) => Boolean(paths[path]?.[method]);
      return {
        deleteJob: has('/jobs/{id}', 'delete'),
        model: has('/jobs/{id}/model', 'get'),
        predict: has('/jobs/{id}/predict', 'post'),
        evaluation: has('/jobs/{id}/evaluation', 'get'),
        exampleImages: Object.keys(paths).some((path) => path.startsWith('/datasets/{name}/examples/')),
      };
    },
    () => none,
  );
  return loaded;
}

/** Runs `work` once the page is idle, so probes never delay what a page shows first. */
export function whenIdle(work: () => void): () => void {
  if ('requestIdleCallback' in window) {
    const handle = requestIdleCallback(work, { timeout: 1000 });
    return () => cancelIdleCallback(handle);
  }
  const timer = setTimeout(work, 200);
  return () => clearTimeout(timer);
}

export function useCapabilities(): Capabilities {
  const [capabilities, setCapabilities] = useState(none);
  useEffect(() => {
    let current = true;
    const cancel = whenIdle(() => void read().then((found) => current && setCapabilities(found)));
    return () => {
      current = false;
      cancel();
    };
  }, []);
  return capabilities;
}
