// The sandbox side of Mesos' files API (/files/read, /files/browse): path resolution with
// containment checks, chunked reads and directory listings. Plain functions returning plain data;
// the HTTP layer only translates.
//
// What must stay true:
// - Nothing outside the sandboxes root is ever read or listed: the path is checked lexically
//   first (no existence leak for `..` tricks), then by realpath containment (symlinks pointing
//   out are refused). The file is opened by its resolved path and checked to be a regular file.
// - A read never returns more than MAX_READ_LENGTH bytes and never splits a UTF-8 character, so
//   `data` is always valid text.
import { lstat, open, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

export const MAX_READ_LENGTH = 1024 * 1024;

export class FilesError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Resolves a files-API path (`<framework>/<task>/<file>`, or an absolute path inside the root). */
export async function resolveSandboxPath(root: string, path: string): Promise<{ real: string; virtual: string }> {
  if (typeof path !== 'string' || path.length === 0) throw new FilesError(400, "missing 'path'");
  if (path.includes('\0')) throw new FilesError(400, "'path' must not contain NUL");
  const rootAbs = resolve(root);
  const lexical = isAbsolute(path) ? resolve(path) : resolve(rootAbs, path);
  if (!within(rootAbs, lexical)) throw new FilesError(403, `'${path}' is outside the sandboxes`);
  let rootReal: string;
  let real: string;
  try {
    rootReal = await realpath(rootAbs);
    real = await realpath(lexical);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FilesError(404, `'${path}' does not exist`);
    throw err;
  }
  if (!within(rootReal, real)) throw new FilesError(403, `'${path}' resolves outside the sandboxes`);
  return { real, virtual: relative(rootAbs, lexical).split(sep).join('/') };
}

const within = (root: string, p: string): boolean => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** Parses an optional integer query value; undefined when absent. */
export function parseIntParam(name: string, value: unknown, min: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new FilesError(400, `'${name}' must be an integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new FilesError(400, `'${name}' must be an integer >= ${min}`);
  return n;
}

/**
 * Mesos' /files/read: `offset = -1` answers the file's size with empty data (the pailer's first
 * call); otherwise up to `length` bytes (default: the rest, capped) from `offset`.
 */
export async function readSandboxFile(root: string, path: string, offset = 0, length?: number): Promise<{ data: string; offset: number }> {
  const { real } = await resolveSandboxPath(root, path);
  const fh = await open(real, 'r');
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new FilesError(400, `'${path}' is a directory`);
    if (!st.isFile()) throw new FilesError(400, `'${path}' is not a regular file`);
    if (offset === -1) return { data: '', offset: st.size };
    const want = Math.min(length ?? MAX_READ_LENGTH, MAX_READ_LENGTH, Math.max(0, st.size - offset));
    if (want <= 0) return { data: '', offset };
    const buf = Buffer.alloc(want);
    const { bytesRead } = await fh.read(buf, 0, want, offset);
    return { data: buf.subarray(0, utf8Boundary(buf, bytesRead)).toString('utf8'), offset };
  } finally {
    await fh.close();
  }
}

/**
 * The largest n <= end such that buf[0..n) does not end inside a multi-byte UTF-8 sequence; the
 * cut bytes come with the next read. Invalid bytes are kept (toString replaces them), and a chunk
 * is never cut to nothing (a tiny `length` must still make progress).
 */
function utf8Boundary(buf: Buffer, end: number): number {
  let i = end - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (buf[i] & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i <= 0) return end;
  const lead = buf[i];
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return end - i < need ? i : end;
}

export interface FileEntry {
  /** The entry's files-API path (pass it back to /files/read). */
  path: string;
  size: number;
  mtime: number;
  mode: string;
  nlink: number;
  uid: number;
  gid: number;
}

/** Mesos' /files/browse: the entries of a sandbox directory, without following symlinks. */
export async function browseSandboxDir(root: string, path: string): Promise<FileEntry[]> {
  const { real, virtual } = await resolveSandboxPath(root, path);
  const st = await lstat(real);
  if (!st.isDirectory()) throw new FilesError(400, `'${path}' is not a directory`);
  const names = (await readdir(real)).sort();
  const entries: FileEntry[] = [];
  for (const name of names) {
    const s = await lstat(join(real, name)).catch(() => null);
    if (!s) continue; // removed meanwhile
    entries.push({
      path: virtual ? `${virtual}/${name}` : name,
      size: s.size,
      mtime: Math.floor(s.mtimeMs / 1000),
      mode: modeString(s.mode, s.isDirectory(), s.isSymbolicLink()),
      nlink: s.nlink,
      uid: s.uid,
      gid: s.gid,
    });
  }
  return entries;
}

/** `ls -l` style mode, as Mesos' browse answers it. */
function modeString(mode: number, dir: boolean, link: boolean): string {
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (mode & (1 << (8 - i)) ? c : '-')).join('');
  return (dir ? 'd' : link ? 'l' : '-') + bits;
}
