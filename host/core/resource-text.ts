// Mesos' text syntax for resources and attributes, as typed on the command line:
//   --resources  "cpus:4;mem:8192;disk:40960;ports:[31000-32000,33000-33010];zones:{a,b}"
//   --attributes "rack:a;zone:z1;level:3;ids:[1-5]"
// Each item is `name:value` (resources may add a role: `cpus(prod):4`); a value is a scalar, ranges
// in `[b-e,...]` or a set in `{a,b}` (attributes also take plain text). Errors are one line that
// quotes the offending item, because they are shown as-is by the CLI (exit code 2).
import type { Attribute } from '../protocol/messages.ts';
import { Resources, ResourceError, formatRangeValue, formatSetValue, normalizeRanges, type Range } from './resources.ts';

export class ResourceParseError extends ResourceError {
  override name = 'ResourceParseError';
}

const NUMBER = /^[+]?(\d+(\.\d*)?|\.\d+)$/;
const SIGNED_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const NAME = /^[A-Za-z0-9_.\-/]+$/;

type Value =
  | { kind: 'scalar'; value: number }
  | { kind: 'ranges'; ranges: Range[] }
  | { kind: 'set'; items: string[] }
  | { kind: 'text'; text: string };

/** Parses `cpus:4;mem:8192;ports:[31000-32000]` into Resources. The empty string is no resources. */
export function parseResources(text: string): Resources {
  const scalars: Record<string, number> = {};
  const ranges: Record<string, Range[]> = {};
  const sets: Record<string, string[]> = {};
  let role: string | undefined;
  for (const item of items(text)) {
    const fail = (why: string): never => {
      throw new ResourceParseError(`invalid resource '${item}': ${why}`);
    };
    const { name, value, role: itemRole } = splitItem(item, true, fail);
    if (Object.hasOwn(scalars, name) || Object.hasOwn(ranges, name) || Object.hasOwn(sets, name)) {
      fail(`duplicate resource '${name}'`);
    }
    const r = itemRole ?? '*';
    if (role !== undefined && r !== role) fail(`mixed roles ('${role}' and '${r}') are not supported in one resource string`);
    role = r;
    const v = parseValue(value, false, fail);
    if (v.kind === 'scalar') scalars[name] = v.value;
    else if (v.kind === 'ranges') ranges[name] = v.ranges;
    else if (v.kind === 'set') sets[name] = v.items;
  }
  return Resources.fromParts({ scalars, ranges, sets, role });
}

/** Parses `rack:a;zone:z1;level:3;ids:[1-5]` into Mesos Attributes (TEXT, SCALAR, RANGES or SET). */
export function parseAttributes(text: string): Attribute[] {
  const out: Attribute[] = [];
  const seen = new Set<string>();
  for (const item of items(text)) {
    const fail = (why: string): never => {
      throw new ResourceParseError(`invalid attribute '${item}': ${why}`);
    };
    const { name, value } = splitItem(item, false, fail);
    if (seen.has(name)) fail(`duplicate attribute '${name}'`);
    seen.add(name);
    const v = parseValue(value, true, fail);
    if (v.kind === 'scalar') out.push({ name, type: 'SCALAR', scalar: { value: v.value } });
    else if (v.kind === 'ranges') out.push({ name, type: 'RANGES', ranges: { range: v.ranges } });
    else if (v.kind === 'set') out.push({ name, type: 'SET', set: { item: v.items } });
    else out.push({ name, type: 'TEXT', text: { value: v.text } });
  }
  return out;
}

/** The compact text form that parseResources reads back: `cpus:4;mem:1024;ports:[31000-32000]`. */
export function formatResources(r: Resources): string {
  return r.toString().replaceAll('; ', ';').replaceAll(', ', ',');
}

/** Mesos' text form of attributes: `rack:a;level:3;ids:[1-5]`. */
export function formatAttributes(attrs: ReadonlyArray<Attribute>): string {
  return attrs
    .map((a) => {
      switch (a.type) {
        case 'SCALAR':
          return `${a.name}:${a.scalar?.value ?? 0}`;
        case 'RANGES':
          return `${a.name}:${formatRangeValue(normalizeRanges(a.ranges?.range ?? [])).replaceAll(', ', ',')}`;
        case 'SET':
          return `${a.name}:${formatSetValue(a.set?.item ?? []).replaceAll(', ', ',')}`;
        case 'TEXT':
          return `${a.name}:${a.text?.value ?? ''}`;
      }
    })
    .join(';');
}

// ---------------------------------------------------------------------------------------------

/** Items separated by ';', trimmed; empty items (a trailing ';') are skipped, as Mesos does. */
function items(text: string): string[] {
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function splitItem(item: string, allowRole: boolean, fail: (why: string) => never): { name: string; value: string; role?: string } {
  const colon = item.indexOf(':');
  if (colon < 0) fail("expected 'name:value'");
  let name = item.slice(0, colon).trim();
  const value = item.slice(colon + 1).trim();
  let role: string | undefined;
  const paren = /^([^()]*)\(([^()]*)\)$/.exec(name);
  if (paren !== null) {
    if (!allowRole) fail('attributes have no role');
    name = paren[1].trim();
    role = paren[2].trim();
    if (role.length === 0) fail('empty role');
  }
  if (name.length === 0) fail('empty name');
  if (!NAME.test(name)) fail(`'${name}' is not a valid name (letters, digits, '_', '-', '.', '/')`);
  if (value.length === 0) fail('empty value');
  return { name, value, role };
}

function parseValue(value: string, attribute: boolean, fail: (why: string) => never): Value {
  if (value.startsWith('[')) {
    if (!value.endsWith(']')) fail(`'${value}' is missing the closing ']'`);
    const body = value.slice(1, -1).trim();
    const ranges: Range[] = [];
    for (const part of body.length === 0 ? [] : body.split(',')) {
      const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(part);
      if (m === null) fail(`'${part.trim()}' is not a range 'begin-end' of non-negative integers`);
      const begin = Number(m[1]);
      const end = Number(m[2]);
      if (!Number.isSafeInteger(begin) || !Number.isSafeInteger(end)) fail(`'${part.trim()}' is out of range`);
      if (begin > end) fail(`range '${part.trim()}' has begin > end`);
      ranges.push({ begin, end });
    }
    return { kind: 'ranges', ranges };
  }
  if (value.startsWith('{')) {
    if (!value.endsWith('}')) fail(`'${value}' is missing the closing '}'`);
    const body = value.slice(1, -1).trim();
    const list = body.length === 0 ? [] : body.split(',').map((s) => s.trim());
    if (list.some((s) => s.length === 0)) fail('empty set item');
    return { kind: 'set', items: list };
  }
  if ((attribute ? SIGNED_NUMBER : NUMBER).test(value)) {
    const n = Number(value);
    if (!Number.isFinite(n)) fail(`'${value}' is not a finite number`);
    return { kind: 'scalar', value: n };
  }
  if (attribute) return { kind: 'text', text: value };
  if (/^-/.test(value) && SIGNED_NUMBER.test(value)) fail(`negative value '${value}'`);
  return fail(`'${value}' is not a number`);
}
