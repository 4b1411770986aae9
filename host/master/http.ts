// The master's HTTP endpoints (koa). Routes only translate HTTP into reads of the master's state;
// handlers return plain data. Authentication follows DESIGN.md's security baseline: /health is
// open; with a secret everything else needs it; without one, only loopback clients are served.
import Koa from 'koa';
import Router from '@koa/router';
import { isLoopback, secretFromHeaders, secretMatches } from '../common/auth.ts';
import type { Master } from './master.ts';
import { masterState, metricsSnapshot } from './state.ts';

export interface HttpOptions {
  secret?: string;
}

/** Koa middleware enforcing the secret (or loopback-only access without one). */
export function requireAccess(opts: HttpOptions, open: (path: string) => boolean = (p) => p === '/health'): Koa.Middleware {
  return async (ctx, next) => {
    if (open(ctx.path)) return next();
    if (opts.secret) {
      const provided = secretFromHeaders(ctx.get('authorization') || undefined, ctx.query.token);
      if (!secretMatches(provided, opts.secret)) {
        ctx.status = 401;
        ctx.set('WWW-Authenticate', 'Bearer realm="agora"');
        ctx.body = { error: 'unauthorized: present the secret as "Authorization: Bearer <secret>" or ?token=<secret>' };
        return;
      }
    } else if (!isLoopback(ctx.req.socket.remoteAddress)) {
      ctx.status = 403;
      ctx.body = { error: 'forbidden: without a secret only loopback clients are served' };
      return;
    }
    return next();
  };
}

/** Errors become JSON with a status; nothing a client sends can crash the server. */
export const jsonErrors: Koa.Middleware = async (ctx, next) => {
  try {
    await next();
    if (ctx.status === 404 && ctx.body === undefined) ctx.body = { error: `not found: ${ctx.method} ${ctx.path}` };
  } catch (err) {
    const e = err as { status?: number; expose?: boolean; message?: string };
    ctx.status = e.status && e.status >= 400 && e.status < 600 ? e.status : 500;
    ctx.body = { error: e.expose || ctx.status < 500 ? e.message : 'internal error' };
    if (ctx.status >= 500) ctx.app.emit('error', err, ctx);
  }
};

export function masterRouter(master: Master): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/master/state', (ctx) => {
    ctx.body = masterState(master);
  });
  router.get('/state', (ctx) => {
    ctx.body = masterState(master);
  });
  router.get('/metrics/snapshot', (ctx) => {
    ctx.body = metricsSnapshot(master);
  });
  return router;
}

export function createMasterApp(master: Master, opts: HttpOptions): Koa {
  const app = new Koa();
  app.silent = true;
  app.on('error', (err: Error) => master.log.error({ err }, 'http error'));
  app.use(jsonErrors);
  app.use(requireAccess(opts));
  const router = masterRouter(master);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}
