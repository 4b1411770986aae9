// Boundary validation: every inbound message is parsed here before it reaches the core, and a bad
// one is answered with an error that names the field ("accept.offer_ids[0].value: must not be
// empty"). Mesos' JSON treats null as absent, so nulls are dropped before parsing.
import type { z } from 'zod';
import { Call } from './messages.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_DEPTH = 32;

/** Returns a copy of `value` without null members (and without prototype tricks: plain data only). */
export function stripNulls(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new Error(`message nested deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.filter((v) => v !== null).map((v) => stripNulls(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === null || k === '__proto__') continue;
      out[k] = stripNulls(v, depth + 1);
    }
    return out;
  }
  return value;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Formats the first few zod issues as "field: problem; field: problem". */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = formatPath([...(prefix ? [prefix] : []), ...issue.path]);
      return path ? `${path}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

export function parseWith<S extends z.ZodType>(schema: S, raw: unknown, what = ''): Parsed<z.infer<S>> {
  let clean: unknown;
  try {
    clean = stripNulls(raw);
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  const result = schema.safeParse(clean);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: formatIssues(result.error, what) };
}

const CALL_TYPES = [
  'SUBSCRIBE', 'TEARDOWN', 'ACCEPT', 'DECLINE', 'REVIVE', 'SUPPRESS', 'KILL', 'SHUTDOWN',
  'ACKNOWLEDGE', 'RECONCILE', 'MESSAGE', 'REQUEST',
];

/** Parses a scheduler Call; an unknown `type` gets the list of valid ones. */
export function parseCall(raw: unknown): Parsed<Call> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, error: 'a Call must be a JSON object' };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !CALL_TYPES.includes(type)) {
    return { ok: false, error: `type: expected one of ${CALL_TYPES.join(', ')}, got ${JSON.stringify(type) ?? 'nothing'}` };
  }
  return parseWith(Call, raw);
}
