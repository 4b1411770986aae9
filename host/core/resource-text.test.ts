import { describe, expect, test } from '@jest/globals';
import { ResourceParseError, formatAttributes, formatResources, parseAttributes, parseResources } from './resource-text.ts';

describe('parseResources', () => {
  test('reads scalars, ranges and sets in Mesos syntax', () => {
    const r = parseResources('cpus:4;mem:8192;disk:40960;ports:[31000-32000,33000-33010];zones:{a,b}');
    expect(r.scalar('cpus')).toBe(4);
    expect(r.scalar('mem')).toBe(8192);
    expect(r.scalar('disk')).toBe(40960);
    expect(r.ranges('ports')).toEqual([
      { begin: 31000, end: 32000 },
      { begin: 33000, end: 33010 },
    ]);
    expect(r.set('zones')).toEqual(['a', 'b']);
    expect(r.role).toBe('*');
  });

  test('tolerates spaces, a trailing separator, decimals and a role', () => {
    const r = parseResources(' cpus(prod) : 0.5 ; mem(prod):.25; ports(prod):[ 1-2 , 5-6 ]; ');
    expect(r.scalar('cpus')).toBe(0.5);
    expect(r.scalar('mem')).toBe(0.25);
    expect(r.ranges('ports')).toEqual([
      { begin: 1, end: 2 },
      { begin: 5, end: 6 },
    ]);
    expect(r.role).toBe('prod');
    expect(parseResources('').isEmpty()).toBe(true);
  });

  test('formatResources reads back to the same value', () => {
    const text = 'cpus:1.5;disk:10;mem:64;ports:[1-5,7-9];zones:{a,b}';
    expect(formatResources(parseResources(text))).toBe(text);
  });

  // Each error is one line that names the offending item: the CLI prints it as is.
  test.each([
    ['cpus:abc', "invalid resource 'cpus:abc': 'abc' is not a number"],
    ['cpus:-1', "invalid resource 'cpus:-1': negative value '-1'"],
    ['cpus:4;cpus:2', "invalid resource 'cpus:2': duplicate resource 'cpus'"],
    [':4', "invalid resource ':4': empty name"],
    ['cpus', "invalid resource 'cpus': expected 'name:value'"],
    ['cpus:', "invalid resource 'cpus:': empty value"],
    ['ports:[5-3]', "invalid resource 'ports:[5-3]': range '5-3' has begin > end"],
    ['ports:[1-2', "invalid resource 'ports:[1-2': '[1-2' is missing the closing ']'"],
    ['ports:[1-x]', "invalid resource 'ports:[1-x]': '1-x' is not a range 'begin-end' of non-negative integers"],
    ['ports:[7]', "invalid resource 'ports:[7]': '7' is not a range 'begin-end' of non-negative integers"],
    ['zones:{a,,b}', "invalid resource 'zones:{a,,b}': empty set item"],
    ['zones:{a', "invalid resource 'zones:{a': '{a' is missing the closing '}'"],
    ['cp us:1', "invalid resource 'cp us:1': 'cp us' is not a valid name (letters, digits, '_', '-', '.', '/')"],
    ['cpus():1', "invalid resource 'cpus():1': empty role"],
    ['cpus(a):1;mem(b):2', "invalid resource 'mem(b):2': mixed roles ('a' and 'b') are not supported in one resource string"],
    ['cpus:1e400', "invalid resource 'cpus:1e400': '1e400' is not a number"],
  ])('rejects %s', (text, message) => {
    expect(() => parseResources(text)).toThrow(ResourceParseError);
    expect(() => parseResources(text)).toThrow(message);
  });
});

describe('parseAttributes', () => {
  test('TEXT for text, SCALAR for numbers, RANGES for [..], SET for {..}', () => {
    expect(parseAttributes('rack:a;zone:z1;level:3;temp:-2.5;ids:[1-5];tags:{x,y}')).toEqual([
      { name: 'rack', type: 'TEXT', text: { value: 'a' } },
      { name: 'zone', type: 'TEXT', text: { value: 'z1' } },
      { name: 'level', type: 'SCALAR', scalar: { value: 3 } },
      { name: 'temp', type: 'SCALAR', scalar: { value: -2.5 } },
      { name: 'ids', type: 'RANGES', ranges: { range: [{ begin: 1, end: 5 }] } },
      { name: 'tags', type: 'SET', set: { item: ['x', 'y'] } },
    ]);
    expect(parseAttributes('')).toEqual([]);
  });

  test('formatAttributes writes Mesos text that parses back', () => {
    const text = 'rack:a;level:3;ids:[1-5];tags:{x,y}';
    expect(formatAttributes(parseAttributes(text))).toBe(text);
  });

  test.each([
    ['rack', "invalid attribute 'rack': expected 'name:value'"],
    [':a', "invalid attribute ':a': empty name"],
    ['rack:a;rack:b', "invalid attribute 'rack:b': duplicate attribute 'rack'"],
    ['ids:[3-1]', "invalid attribute 'ids:[3-1]': range '3-1' has begin > end"],
    ['rack(x):a', "invalid attribute 'rack(x):a': attributes have no role"],
  ])('rejects %s', (text, message) => {
    expect(() => parseAttributes(text)).toThrow(message);
  });
});
