// autocannon ships no types: the part of its API the benches use, as its README documents it.
declare module 'autocannon' {
  export interface AutocannonOptions {
    url: string;
    connections?: number;
    duration?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** Requests per second from all connections together; none: as fast as answered. */
    overallRate?: number;
  }
  export interface AutocannonResult {
    requests: { average: number };
    latency: { p50: number; p99: number };
    non2xx: number;
    errors: number;
    timeouts: number;
  }
  /** A run started with a callback: `stop` ends it early, and the callback gets what was measured. */
  export interface AutocannonInstance {
    stop(): void;
  }
  export default function autocannon(options: AutocannonOptions): Promise<AutocannonResult>;
  export default function autocannon(
    options: AutocannonOptions,
    done: (error: Error | null, result: AutocannonResult) => void,
  ): AutocannonInstance;
}
