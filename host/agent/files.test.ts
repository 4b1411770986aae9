import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AgentHttpServer } from './http-server.ts';
import { removeDir, silentLogger, tempDir } from './testing.ts';

let dir: string;
let root: string;
let open: AgentHttpServer;
let locked: AgentHttpServer;
let openUrl: string;
let lockedUrl: string;

beforeAll(async () => {
  dir = await tempDir('files');
  root = join(dir, 'sandboxes');
  await mkdir(join(root, 'fw1', 't1', 'sub'), { recursive: true });
  await writeFile(join(root, 'fw1', 't1', 'stdout'), 'hello world\n');
  await writeFile(join(root, 'fw1', 't1', 'utf8'), 'aé€b'); // a, é (2 bytes), € (3 bytes), b
  await writeFile(join(dir, 'secret.txt'), 'outside');
  await symlink(join(dir, 'secret.txt'), join(root, 'fw1', 't1', 'escape'));
  await symlink(join(root, 'fw1', 't1', 'stdout'), join(root, 'fw1', 't1', 'inside-link'));
  open = new AgentHttpServer({ host: '127.0.0.1', port: 0, sandboxesRoot: root, logger: silentLogger() });
  locked = new AgentHttpServer({ host: '127.0.0.1', port: 0, sandboxesRoot: root, secret: 'tops3cret', logger: silentLogger() });
  openUrl = `http://127.0.0.1:${(await open.listen()).port}`;
  lockedUrl = `http://127.0.0.1:${(await locked.listen()).port}`;
});
afterAll(async () => {
  await open.close();
  await locked.close();
  await removeDir(dir);
});

async function get(path: string, base = openUrl, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, { headers });
  return { status: res.status, body: (await res.json()) as any };
}
const read = (path: string, extra = '') => get(`/files/read?path=${encodeURIComponent(path)}${extra}`);

describe('files API', () => {
  test('reads a sandbox file; offset -1 answers its size; paging with offset and length', async () => {
    expect(await read('fw1/t1/stdout')).toEqual({ status: 200, body: { data: 'hello world\n', offset: 0 } });
    expect(await read('fw1/t1/stdout', '&offset=-1')).toEqual({ status: 200, body: { data: '', offset: 12 } });
    expect((await read('fw1/t1/stdout', '&offset=6&length=3')).body).toEqual({ data: 'wor', offset: 6 });
    expect((await read('fw1/t1/stdout', '&offset=100')).body).toEqual({ data: '', offset: 100 });
    expect((await read('fw1/t1/stdout', '&length=0')).body).toEqual({ data: '', offset: 0 });
  });

  test('accepts the absolute sandbox path and symlinks that stay inside', async () => {
    expect((await read(join(root, 'fw1', 't1', 'stdout'))).body.data).toBe('hello world\n');
    expect((await read('fw1/t1/inside-link')).body.data).toBe('hello world\n');
  });

  test('a chunk never splits a UTF-8 character', async () => {
    // Bytes: a(0) é(1-2) €(3-5) b(6). Reading 3 bytes from 0 would cut € ... from 2 would start inside é.
    expect((await read('fw1/t1/utf8', '&offset=0&length=4')).body.data).toBe('aé');
    expect((await read('fw1/t1/utf8', '&offset=3&length=4')).body.data).toBe('€b');
  });

  test('refuses paths outside the sandboxes: traversal, absolute, symlink escape', async () => {
    for (const p of ['../secret.txt', 'fw1/../../secret.txt', join(dir, 'secret.txt'), '/etc/passwd']) {
      const r = await read(p);
      expect(r.status).toBe(403);
      expect(r.body.error).toMatch(/outside the sandboxes/);
    }
    const link = await read('fw1/t1/escape');
    expect(link.status).toBe(403);
    expect(link.body.error).toMatch(/resolves outside/);
  });

  test('clear errors: missing file 404, directory 400, bad offset/length 400, missing path 400', async () => {
    expect((await read('fw1/t1/nope')).status).toBe(404);
    expect((await read('fw1/t1')).status).toBe(400);
    expect((await read('fw1/t1/stdout', '&offset=-2')).status).toBe(400);
    expect((await read('fw1/t1/stdout', '&offset=abc')).body.error).toMatch(/'offset' must be an integer/);
    expect((await read('fw1/t1/stdout', '&length=-1')).status).toBe(400);
    expect((await get('/files/read')).status).toBe(400);
    expect((await get('/files/read?path=a&path=b')).status).toBe(400);
    expect((await get('/nowhere')).status).toBe(404);
  });

  test('browse lists a sandbox with paths usable by read', async () => {
    const r = await get('/files/browse?path=fw1/t1');
    expect(r.status).toBe(200);
    const byPath = Object.fromEntries(r.body.map((e: any) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual(['fw1/t1/escape', 'fw1/t1/inside-link', 'fw1/t1/stdout', 'fw1/t1/sub', 'fw1/t1/utf8']);
    expect(byPath['fw1/t1/stdout']).toMatchObject({ size: 12, mode: expect.stringMatching(/^-rw/) });
    expect(byPath['fw1/t1/sub'].mode).toMatch(/^d/);
    expect(byPath['fw1/t1/escape'].mode).toMatch(/^l/);
    expect((await get('/files/browse?path=..')).status).toBe(403);
  });

  test('with a secret: /health is open, everything else needs the secret', async () => {
    expect(await get('/health', lockedUrl)).toEqual({ status: 200, body: { ok: true } });
    expect((await get('/files/read?path=fw1/t1/stdout', lockedUrl)).status).toBe(401);
    expect((await get('/files/read?path=fw1/t1/stdout', lockedUrl, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get('/files/read?path=fw1/t1/stdout', lockedUrl, { authorization: 'Bearer tops3cret' })).body.data).toBe('hello world\n');
    expect((await get('/files/read?path=fw1/t1/stdout&token=tops3cret', lockedUrl)).status).toBe(200);
  });

  test('refuses to bind beyond loopback without a secret', async () => {
    const s = new AgentHttpServer({ host: '0.0.0.0', port: 0, sandboxesRoot: root, logger: silentLogger() });
    await expect(s.listen()).rejects.toThrow(/refusing to bind .* without a secret/);
  });
});
