// Helpers for the agent's tests: temp dirs, condition waits, a silent logger, and cleanup of the
// process groups tasks leave behind (they are detached on purpose, so nothing else kills them).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from '../common/log.ts';
import { readProcStat } from './memory-limit.ts';

export const silentLogger = (): Logger => pino({ level: process.env.AGORA_TEST_LOG ?? 'silent' });

export const tempDir = (prefix: string): Promise<string> => mkdtemp(join(tmpdir(), `agora-${prefix}-`));

export const removeDir = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });

/** Polls `check` until it returns a truthy value (which is returned) or the deadline passes. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Kills a process group if it still exists (test cleanup). */
export function killGroup(pgid: number | undefined): void {
  if (!pgid) return;
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * Whether any non-zombie process is in the group. kill(-pgid, 0) is not enough: a task's wrapper
 * is a child of the test process (the agent ran in it) and stays a zombie until Node reaps it.
 */
export async function groupHasLiveProcess(pgid: number): Promise<boolean> {
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = await readProcStat(Number(name));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}
