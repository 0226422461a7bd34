/**
 * The HTTP server's clocks. Node's defaults let a client hold a socket for minutes by sending its
 * headers or body a byte at a time (headersTimeout 60 s and requestTimeout 300 s, and both are
 * only checked every 30 s); a few hundred such clients exhaust the process's sockets. These are
 * short enough to cut such a client off within 30 s and long enough for any real caller: Slack,
 * the Bot Framework and the CRMs send small bodies at once.
 */
import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { ConfigError, StartupError } from '../errors.js';

export interface HttpTimeouts {
  /** From the first byte of a request until its headers are complete. */
  headersTimeoutMs: number;
  /** From the first byte of a request until its body is complete (must be ≥ headersTimeoutMs). */
  requestTimeoutMs: number;
  /**
   * How long an idle keep-alive connection stays open. Longer than the 60 s idle timeout of the
   * common load balancers (AWS ALB, GCP), so the balancer, not Baton, closes first and never
   * sends a request down a socket Baton is closing.
   */
  keepAliveTimeoutMs: number;
  /** How often Node checks the two request clocks above (its default, 30 s, is their granularity). */
  connectionsCheckingIntervalMs: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  keepAliveTimeoutMs: 65_000,
  connectionsCheckingIntervalMs: 1_000,
};

/** Listens with the timeouts set; `overrides` are for tests, which need seconds, not tens of them. */
export function listen(app: Express, port: number, host: string, overrides: Partial<HttpTimeouts> = {}): Promise<Server> {
  const t = { ...HTTP_TIMEOUTS, ...overrides };
  const wrong = Object.entries(t).filter(([, v]) => !Number.isInteger(v) || v <= 0);
  if (t.headersTimeoutMs > t.requestTimeoutMs) wrong.push(['headersTimeoutMs', t.headersTimeoutMs]);
  if (wrong.length) {
    throw new ConfigError(wrong.map(([k, v]) => ({ path: `http.${k}`, message: `expected a whole number of milliseconds above 0 (headersTimeoutMs at most requestTimeoutMs), got ${String(v)}` })));
  }
  // connectionsCheckingInterval can only be given at creation: the checking timer starts then.
  const server = createServer(
    { headersTimeout: t.headersTimeoutMs, requestTimeout: t.requestTimeoutMs, connectionsCheckingInterval: t.connectionsCheckingIntervalMs, keepAliveTimeout: t.keepAliveTimeoutMs },
    app,
  );
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  return new Promise<Server>((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(listenError(err, port, host));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve(server);
    });
  });
}

/** What the operating system's refusal to listen means for the person starting Baton. */
export function listenError(err: NodeJS.ErrnoException, port: number, host: string): Error {
  if (err.code === 'EADDRINUSE') {
    return new StartupError(
      `port ${port} on ${host} is already in use (another Baton, or another program). Stop it, or set PORT to a free port (e.g. PORT=${port === 65535 ? 3001 : port + 1}).`,
      'port_in_use',
      err,
    );
  }
  if (err.code === 'EACCES') {
    return new StartupError(`this user may not listen on port ${port} (ports below 1024 need privileges). Set PORT to 1024 or above, e.g. PORT=3000.`, 'port_forbidden', err);
  }
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new StartupError(`HOST=${host} is not an address of this machine. Set HOST to 0.0.0.0 (every interface) or 127.0.0.1 (this machine only).`, 'host_unavailable', err);
  }
  return err;
}
