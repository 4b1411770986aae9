// Flag value parsers shared by the CLI's commands. Each throws commander's InvalidArgumentError
// with a message that says what was wrong, so a bad flag is one line and exit code 2.
import { InvalidArgumentError } from 'commander';
import { parseAttributes, parseResources } from '../core/resource-text.ts';
import type { Resources } from '../core/resources.ts';
import type { Attribute } from '../protocol/messages.ts';

const UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, secs: 1000, m: 60_000, min: 60_000, mins: 60_000, h: 3_600_000, hrs: 3_600_000 };

/** "15s", "500ms", "2mins", or a bare number of seconds (Mesos writes "15secs"). Returns ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`'${text}' is not a duration (try 15s, 500ms or 2m)`);
  const unit = m[2] || 's';
  const factor = UNITS[unit];
  if (factor === undefined) throw new InvalidArgumentError(`unknown unit '${unit}' in '${text}' (use ms, s, m or h)`);
  return Math.round(Number(m[1]) * factor);
}

export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`'${text}' is not a port (0-65535)`);
  return n;
}

export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`'${text}' is not a count from 1 to 64`);
  return n;
}

export function parseResourceFlag(text: string): Resources {
  try {
    return parseResources(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function parseAttributeFlag(text: string): Attribute[] {
  try {
    return parseAttributes(text);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** "role=2,other=0.5" -> { role: 2, other: 0.5 } */
export function parseWeights(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [role, value] = part.split('=');
    const weight = Number(value);
    if (!role || !(weight > 0)) throw new InvalidArgumentError(`'${part}' is not role=weight with a positive weight`);
    out[role] = weight;
  }
  return out;
}

export function parseUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error();
    return url.origin;
  } catch {
    throw new InvalidArgumentError(`'${text}' is not an http(s) URL like http://127.0.0.1:5050`);
  }
}
