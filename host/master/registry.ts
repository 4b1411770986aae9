// The master's registry: what must survive a master restart (DESIGN.md, Persistence). Admitted
// agents, frameworks with their info, removed framework IDs (a torn-down framework may not come
// back), and each framework's key/value state. Tasks are deliberately absent: agents re-register
// with them, so the file stays small whatever the cluster runs.
import { join } from 'node:path';
import { JsonStore } from '../common/json-store.ts';
import type { FrameworkInfo } from '../protocol/messages.ts';

export interface RegistryAgent {
  id: string;
  hostname: string;
  address: { ip: string; port: number };
  registered_time: number;
}

export interface RegistryFramework {
  id: string;
  info: FrameworkInfo;
  registered_time: number;
}

export interface RegistryData {
  agents: Record<string, RegistryAgent>;
  frameworks: Record<string, RegistryFramework>;
  removed_frameworks: string[];
  framework_state: Record<string, Record<string, unknown>>;
}

const MAX_REMOVED_REMEMBERED = 1000;

export class Registry {
  private readonly store: JsonStore<RegistryData>;

  private constructor(store: JsonStore<RegistryData>) {
    this.store = store;
  }

  static async open(workDir: string): Promise<Registry> {
    const store = await JsonStore.open<RegistryData>(join(workDir, 'registry.json'), {
      agents: {},
      frameworks: {},
      removed_frameworks: [],
      framework_state: {},
    });
    return new Registry(store);
  }

  get agents(): RegistryAgent[] {
    return Object.values(this.store.data.agents);
  }

  get frameworks(): RegistryFramework[] {
    return Object.values(this.store.data.frameworks);
  }

  isRemovedFramework(id: string): boolean {
    return this.store.data.removed_frameworks.includes(id);
  }

  admitAgent(agent: RegistryAgent): Promise<void> {
    return this.store.change((d) => {
      d.agents[agent.id] = agent;
    });
  }

  addFramework(framework: RegistryFramework): Promise<void> {
    return this.store.change((d) => {
      d.frameworks[framework.id] = framework;
    });
  }

  removeFramework(id: string): Promise<void> {
    return this.store.change((d) => {
      delete d.frameworks[id];
      delete d.framework_state[id];
      d.removed_frameworks.push(id);
      if (d.removed_frameworks.length > MAX_REMOVED_REMEMBERED) d.removed_frameworks.shift();
    });
  }

  /** A framework's persistent key/value state (used by plugins). */
  frameworkState(id: string): Record<string, unknown> {
    return this.store.data.framework_state[id] ?? {};
  }

  setFrameworkState(id: string, key: string, value: unknown): Promise<void> {
    return this.store.change((d) => {
      const state = (d.framework_state[id] ??= Object.create(null) as Record<string, unknown>);
      if (value === undefined) delete state[key];
      else state[key] = value;
    });
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
