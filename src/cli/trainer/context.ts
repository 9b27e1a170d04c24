import { createTrainerClient, type TrainerClient } from '@trainer/client';
import WebSocket from 'ws';
import { createOutput, type Output } from './output.js';

/** The options every command takes (commander's global ones). */
export interface GlobalOptions {
  url: string;
  key?: string;
  json: boolean;
}

/** What a command works with: the API's client and where its output goes. */
export interface Context {
  trainer: TrainerClient;
  output: Output;
}

export const defaultUrl = 'http://127.0.0.1:3000';

/** The client of `--url` with `--key` (or TRAINER_URL, TRAINER_API_KEY), and the output `--json` asks for. */
export function createContext(options: GlobalOptions): Context {
  const trainer = createTrainerClient({
    baseUrl: options.url.replace(/\/+$/, ''),
    apiKey: options.key ?? null,
    // Node 20 has no global WebSocket; ws is the one the server uses too.
    WebSocket,
  });
  return { trainer, output: createOutput({ json: options.json }) };
}
