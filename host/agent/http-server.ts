// The agent's HTTP server (koa): /health and the files API over the sandboxes.
//
// What must stay true (DESIGN.md, Security baseline):
// - With a secret, every endpoint but /health requires it (Authorization: Bearer S or ?token=S),
//   401 otherwise. Without one, only loopback clients are served (403 otherwise).
// - Binding beyond loopback without a secret is refused before anything listens.
// - Handlers answer plain JSON data; errors are `{error}` with a status, never a stack trace.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import Koa from 'koa';
import { isLoopback, secretFromHeaders, secretMatches } from '../common/auth.ts';
import type { Logger } from '../common/log.ts';
import { FilesError, browseSandboxDir, parseIntParam, readSandboxFile } from './files.ts';

export interface AgentHttpOptions {
  host: string;
  port: number;
  sandboxesRoot: string;
  secret?: string;
  logger: Logger;
}

/** Whether binding to `host` is loopback-only (and so allowed without a secret). */
export const isLoopbackHost = (host: string): boolean => isLoopback(host) || host === 'localhost';

function pathParam(value: unknown): string {
  if (value === undefined) throw new FilesError(400, "missing 'path'");
  if (typeof value !== 'string') throw new FilesError(400, "'path' must be given once");
  return value;
}

export class AgentHttpServer {
  private readonly opts: AgentHttpOptions;
  private server: Server | null = null;

  constructor(opts: AgentHttpOptions) {
    this.opts = opts;
  }

  async listen(): Promise<AddressInfo> {
    const { host, port, secret } = this.opts;
    if (!isLoopbackHost(host) && !secret) {
      throw new Error(`refusing to bind the agent's HTTP server to ${host} without a secret (use --secret or AGORA_SECRET, or bind 127.0.0.1)`);
    }
    const server = createServer(this.app().callback());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.opts.logger.error({ err }, 'agent HTTP server error'));
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private app(): Koa {
    const { secret, sandboxesRoot, logger } = this.opts;
    const app = new Koa();
    const router = new Router();

    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (err) {
        if (err instanceof FilesError) {
          ctx.status = err.status;
          ctx.body = { error: err.message };
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') {
          ctx.status = 404;
          ctx.body = { error: 'no such file' };
        } else if (code === 'EACCES' || code === 'EPERM') {
          ctx.status = 403;
          ctx.body = { error: 'permission denied' };
        } else {
          logger.error({ err, path: ctx.path }, 'agent HTTP handler failed');
          ctx.status = 500;
          ctx.body = { error: 'internal error' };
        }
      }
    });

    app.use(async (ctx, next) => {
      if (ctx.path === '/health') return next();
      if (secret) {
        if (!secretMatches(secretFromHeaders(ctx.get('authorization') || undefined, ctx.query.token), secret)) {
          ctx.status = 401;
          ctx.set('WWW-Authenticate', 'Bearer');
          ctx.body = { error: 'a valid secret is required (Authorization: Bearer <secret> or ?token=<secret>)' };
          return;
        }
      } else if (!isLoopback(ctx.socket.remoteAddress)) {
        ctx.status = 403;
        ctx.body = { error: 'this agent has no secret and only serves loopback clients' };
        return;
      }
      return next();
    });

    router.get('/health', (ctx) => {
      ctx.body = { ok: true };
    });

    router.get('/files/read', async (ctx) => {
      const offset = parseIntParam('offset', ctx.query.offset, -1) ?? 0;
      const length = parseIntParam('length', ctx.query.length, 0);
      ctx.body = await readSandboxFile(sandboxesRoot, pathParam(ctx.query.path), offset, length);
    });

    router.get('/files/browse', async (ctx) => {
      ctx.body = await browseSandboxDir(sandboxesRoot, pathParam(ctx.query.path));
    });

    app.use(router.routes());
    app.use(router.allowedMethods());
    app.use((ctx) => {
      ctx.status = 404;
      ctx.body = { error: `no route for ${ctx.method} ${ctx.path}` };
    });
    return app;
  }
}
