// The agent's persisted state (Mesos' agent "checkpoint" / meta directory), kept in
// `<workDir>/agent.json` through JsonStore (lowdb with group commit).
//
// What must stay true:
// - The file holds only what a restarted agent needs to carry on: its ID, the tasks it still owns
//   (until their terminal update is acknowledged) with the facts needed to re-attach to their
//   processes, and the status updates not yet acknowledged. Logs, usage samples and other
//   high-churn data never go here (the whole file is rewritten on each write).
// - Task records and updates are plain JSON objects; the agent mutates them in place and then
//   calls `store.change()`, which persists every pending mutation in one write (group commit).
// - The file is validated on load: a corrupt or foreign file stops the agent with a clear error
//   instead of half-loading.
import { join } from 'node:path';
import { z } from 'zod';
import { JsonStore } from '../common/json-store.ts';
import { FrameworkInfo, StatusUpdate, TaskInfo, TaskState, TaskStatus, idValue } from '../protocol/messages.ts';

/** Facts about a task's process, persisted right after spawn so a restarted agent can re-attach. */
export const ProcessCheckpoint = z.object({
  pid: z.number().int().positive(),
  /** The process group (the wrapper is its leader, so pgid === pid); signals go to the group. */
  pgid: z.number().int().positive(),
  /** /proc/<pid>/stat starttime: guards against a recycled pid after the process is gone. */
  start_time: z.string().optional(),
  /** /proc/sys/kernel/random/boot_id at spawn: after a reboot every recorded pid is stale. */
  boot_id: z.string().optional(),
  /** The cgroup v2 directory holding the task, when memory is enforced by cgroups. */
  cgroup: z.string().optional(),
});
export type ProcessCheckpoint = z.infer<typeof ProcessCheckpoint>;

/** Why the agent is killing a task; persisted so the terminal state survives an agent restart. */
export const KillIntent = z.object({
  cause: z.enum(['requested', 'memory']),
  message: z.string().optional(),
  grace_period_ms: z.number().nonnegative().optional(),
});
export type KillIntent = z.infer<typeof KillIntent>;

export const TaskRecord = z.object({
  framework_id: idValue,
  framework_info: FrameworkInfo.optional(),
  task: TaskInfo,
  /** The latest state reported for the task (acknowledged or not). */
  state: TaskState,
  status: TaskStatus.optional(),
  process: ProcessCheckpoint.optional(),
  kill: KillIntent.optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

export const AgentState = z.object({
  agent_id: idValue.optional(),
  tasks: z.array(TaskRecord).default([]),
  /** Unacknowledged status updates in the order they were generated (FIFO per task). */
  updates: z.array(StatusUpdate).default([]),
});
export type AgentState = z.infer<typeof AgentState>;

export type AgentStore = JsonStore<AgentState>;

export const checkpointPath = (workDir: string): string => join(workDir, 'agent.json');

/** Opens (or creates) `<workDir>/agent.json`; throws a clear error when its content is invalid. */
export async function openCheckpoint(workDir: string): Promise<AgentStore> {
  const path = checkpointPath(workDir);
  let store: AgentStore;
  try {
    store = await JsonStore.open<AgentState>(path, { tasks: [], updates: [] });
  } catch (err) {
    throw new Error(`cannot read the agent checkpoint ${path}: ${(err as Error).message}`);
  }
  const parsed = AgentState.safeParse(store.data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid agent checkpoint ${path}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  // Replace the raw data by the validated copy (defaults applied) so later mutations persist it.
  Object.assign(store.data, parsed.data);
  return store;
}

/** Tasks are keyed by framework and task ID; IDs never contain '/', so the key is unambiguous. */
export const taskKey = (frameworkId: string, taskId: string): string => `${frameworkId}/${taskId}`;
