import { performance } from 'node:perf_hooks';

export interface LoadResult {
  requests: number;
  failures: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Sends `total` requests made by `makeRequest(i)` with `concurrency` in flight, and reports throughput and
 * latency percentiles. Bounded in count; every request has a timeout.
 */
export async function runLoad(
  total: number,
  concurrency: number,
  makeRequest: (i: number) => { url: string; init: RequestInit },
): Promise<LoadResult> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const { url, init } = makeRequest(i);
      const t0 = performance.now();
      try {
        const response = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
        await response.arrayBuffer();
        if (!response.ok) failures++;
      } catch {
        failures++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: total, failures, seconds, rps: total / seconds, p50Ms: at(0.5), p99Ms: at(0.99) };
}

export const fmt = (n: number, digits = 1): string => n.toFixed(digits);
