// Structured logs (pino). Processes log JSON lines by default; `agora dev` and a terminal get a
// readable form. AGORA_LOG_LEVEL overrides the level everywhere (tests set it to 'silent').
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export interface LogOptions {
  level?: string;
  pretty?: boolean;
}

export function createLogger(name: string, opts: LogOptions = {}): Logger {
  const level = process.env.AGORA_LOG_LEVEL ?? opts.level ?? 'info';
  const usePretty = opts.pretty ?? (process.env.AGORA_LOG_PRETTY === '1' || Boolean(process.stdout.isTTY));
  if (usePretty) {
    return pino({ name, level }, pretty({ sync: true, colorize: Boolean(process.stdout.isTTY), ignore: 'pid,hostname' }));
  }
  return pino({ name, level, base: { name } });
}
