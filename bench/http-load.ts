import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { percentile } from './open-loop.js';

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
  const sorted = Float64Array.from(latencies).sort();
  return {
    requests: total,
    failures,
    seconds,
    rps: total / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

export const fmt = (n: number, digits = 1): string => n.toFixed(digits);

export interface AutocannonResult {
  ok: number;
  /** Requests completed (any status). */
  total: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

const root = join(import.meta.dirname, '..');

/** One autocannon run (its own process, so the load generator never shares our event loop), POSTing JSON. */
export function autocannon(
  url: string,
  body: string,
  options: { connections: number; durationS: number; rate?: number },
): AutocannonResult {
  const args = ['-c', String(options.connections), '-d', String(options.durationS), '-m', 'POST'];
  args.push('-H', 'content-type=application/json', '-b', body, '--json');
  if (options.rate !== undefined) args.push('-R', String(Math.round(options.rate)));
  const run = spawnSync(join(root, 'node_modules/.bin/autocannon'), [...args, url], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = JSON.parse(run.stdout) as {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
    '2xx': number;
  };
  return {
    ok: out['2xx'],
    total: out.requests.total,
    rps: out.requests.average,
    p50: out.latency.p50,
    p99: out.latency.p99,
    errors: out.errors,
    non2xx: out.non2xx,
  };
}

/** Whether `wrk` (Debian package `wrk`) is on the PATH. */
export const hasWrk = (): boolean =>
  spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined;

/** wrk's latency figures ("450.12us", "1.23ms", "2.00s") in milliseconds. */
const wrkMs = (text: string | undefined): number => {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text ?? '');
  if (m === null) return Number.NaN;
  const value = Number(m[1]);
  return m[2] === 'us' ? value / 1000 : m[2] === 's' ? value * 1000 : value;
};

/**
 * One flat-out wrk run (one thread, `connections` kept open), POSTing JSON: a C load generator, so it takes less of
 * the machine's CPU per request than autocannon. wrk has no fixed-rate mode; rate-limited runs stay on autocannon.
 */
export function wrk(
  url: string,
  body: string,
  options: { connections: number; durationS: number },
): AutocannonResult {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-wrk-'));
  const script = join(dir, 'post.lua');
  // A Lua long string takes the body as it is (JSON has no "]==]").
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [==[${body}]==]\n`,
  );
  const args = ['-t1', `-c${options.connections}`, `-d${options.durationS}s`, '--latency', '-s', script, url];
  const run = spawnSync('wrk', args, { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  const out = run.stdout ?? '';
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  if (run.status !== 0 || !Number.isFinite(total)) throw new Error(`wrk failed: ${run.stderr || out}`);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
  return {
    ok: total - non2xx,
    total,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: wrkMs(/\n\s+50%\s+(\S+)/.exec(out)?.[1]),
    p99: wrkMs(/\n\s+99%\s+(\S+)/.exec(out)?.[1]),
    errors,
    non2xx,
  };
}

/** A random high loopback port for a child server. */
export const randomPort = (): number => 20000 + Math.floor(Math.random() * 20000);

/** Starts `slipway <args>` as a child process and waits until `readyPath` answers 200. */
export async function startSlipwayProcess(
  args: string[],
  port: number,
  readyPath: string,
): Promise<{ base: string; pid: number | undefined; stop(): Promise<void> }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [join(root, 'bin/slipway.js'), ...args, '--port', String(port)],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(`${base}${readyPath}`, child);
  return {
    base,
    pid: child.pid,
    async stop() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Polls `url` until it answers 200 (60 s at most), failing early if the process exits. */
export async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`the server for ${url} exited with ${child.exitCode}`);
    if (
      (await fetch(url).then(
        (r) => r.status,
        () => 0,
      )) === 200
    )
      return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not become ready`);
}

/** CPU seconds (user + system) a process has used so far, from /proc; undefined where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ')'; utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The q-quantile of a Prometheus histogram over the interval between two scrapes (upper bucket bound). */
export function histogramQuantile(before: string, after: string, name: string, q: number): number {
  const buckets = (text: string) => {
    const map = new Map<number, number>();
    for (const match of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"[^}]*\\} (\\d+)`, 'gm'))) {
      const le = match[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(match[1]);
      map.set(le, (map.get(le) ?? 0) + Number(match[2]));
    }
    return map;
  };
  const start = buckets(before);
  const end = buckets(after);
  const bounds = [...end.keys()].sort((x, y) => x - y);
  const total = (end.get(Number.POSITIVE_INFINITY) ?? 0) - (start.get(Number.POSITIVE_INFINITY) ?? 0);
  for (const le of bounds) {
    if ((end.get(le) ?? 0) - (start.get(le) ?? 0) >= q * total) return le;
  }
  return Number.NaN;
}
