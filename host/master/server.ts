// The master process: one HTTP server carrying koa and socket.io (/scheduler, /agent), the
// registry under the work dir, and the Master state. `startMaster` refuses to listen beyond
// loopback without a secret (DESIGN.md, Security baseline).
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { Server as IoServer, type Socket } from 'socket.io';
import { isLoopback, secretMatches } from '../common/auth.ts';
import { createLogger, type Logger } from '../common/log.ts';
import { Master, type MasterOptions } from './master.ts';
import { Registry } from './registry.ts';
import { createMasterApp } from './http.ts';
import { attachSchedulerApi } from './scheduler-api.ts';
import { attachAgentApi } from './agent-api.ts';

export interface MasterServerOptions extends Partial<MasterOptions> {
  host?: string;
  port?: number;
  workDir: string;
  secret?: string;
  logger?: Logger;
}

export interface MasterServer {
  readonly master: Master;
  readonly http: HttpServer;
  readonly io: IoServer;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** socket.io middleware: the secret when one is set, else loopback clients only. */
export function socketAccess(secret: string | undefined) {
  return (socket: Socket, next: (err?: Error) => void) => {
    const auth = socket.handshake.auth as { secret?: unknown; token?: unknown } | undefined;
    if (secret) {
      const provided = auth?.secret ?? auth?.token ?? socket.handshake.query.token;
      return secretMatches(provided, secret) ? next() : next(new Error('unauthorized: wrong or missing secret'));
    }
    return isLoopback(socket.handshake.address) ? next() : next(new Error('forbidden: without a secret only loopback clients are accepted'));
  };
}

export async function startMaster(opts: MasterServerOptions): Promise<MasterServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host) && !opts.secret) {
    throw new Error(`refusing to listen on ${host} without a secret: pass --secret or set AGORA_SECRET`);
  }
  const log = opts.logger ?? createLogger('master');
  const registry = await Registry.open(opts.workDir);
  const master = new Master(registry, log, opts);

  const app = createMasterApp(master, { secret: opts.secret });
  const http = createServer(app.callback());
  const io = new IoServer(http, { serveClient: false, maxHttpBufferSize: 8 * 1024 * 1024, pingInterval: 10_000, pingTimeout: 20_000 });
  const access = socketAccess(opts.secret);
  const schedulerNsp = io.of('/scheduler');
  const agentNsp = io.of('/agent');
  schedulerNsp.use(access);
  agentNsp.use(access);
  attachSchedulerApi(master, schedulerNsp);
  attachAgentApi(master, agentNsp);
  // The default namespace carries nothing; refuse it so stray clients learn the right one.
  io.of('/').use((_socket, next) => next(new Error('connect to /scheduler, /agent or /ui')));

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 5050, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const ip = host === 'localhost' ? '127.0.0.1' : host;
  master.start({ hostname: osHostname(), ip, port });
  const urlHost = ip.includes(':') ? `[${ip}]` : ip;
  const url = `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${port}`;
  log.info({ url }, 'master listening');

  let closed: Promise<void> | undefined;
  return {
    master,
    http,
    io,
    url,
    port,
    close() {
      closed ??= (async () => {
        master.stop();
        await new Promise<void>((resolve) => io.close(() => resolve()));
        http.closeAllConnections();
        await registry.close();
      })();
      return closed;
    },
  };
}
