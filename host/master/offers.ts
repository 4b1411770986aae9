// Offers: the allocation loop (a batched cycle every allocation interval, plus a prompt one when
// resources free up, an agent arrives or a framework subscribes or revives), turning allocator
// decisions into Mesos offers, and taking them back (decline, rescind, timeout).
// What must stay true: every offered resource is counted as allocated until the offer is
// accepted, declined or rescinded, and is then recovered exactly once.
import { performance } from 'node:perf_hooks';
import type { Filters, Offer } from '../protocol/messages.ts';
import type { Resources } from '../core/resources.ts';
import type { Master } from './master.ts';
import type { AgentRecord, FrameworkRecord, OfferRecord } from './records.ts';

export class Offers {
  private readonly m: Master;
  private interval?: NodeJS.Timeout;
  private soon?: NodeJS.Immediate;
  /** Agents to allocate in the next prompt cycle; null means all of them. */
  private candidates: Set<string> | null = new Set();

  constructor(master: Master) {
    this.m = master;
  }

  start(): void {
    this.interval = setInterval(() => this.allocate(null), this.m.options.allocationIntervalMs);
  }

  stop(): void {
    clearInterval(this.interval);
    if (this.soon) clearImmediate(this.soon);
    for (const offer of this.m.offerRecords.values()) clearTimeout(offer.timer);
  }

  /** Batches prompt allocations: many events in one tick make one cycle. */
  allocateSoon(agentIds?: Iterable<string>): void {
    if (this.m.isStopped) return;
    if (!agentIds) this.candidates = null;
    else if (this.candidates) for (const id of agentIds) this.candidates.add(id);
    this.soon ??= setImmediate(() => {
      this.soon = undefined;
      const agents = this.candidates;
      this.candidates = new Set();
      this.allocate(agents);
    });
  }

  private allocate(agentIds: Set<string> | null): void {
    if (agentIds && agentIds.size === 0) return;
    const now = Date.now();
    const started = performance.now();
    const decisions = this.m.allocator.allocate(now, agentIds ?? undefined);
    this.m.metrics.allocationRun(performance.now() - started);

    const byFramework = new Map<FrameworkRecord, Offer[]>();
    for (const d of decisions) {
      const framework = this.m.frameworkRecords.get(d.frameworkId);
      const agent = this.m.agentRecords.get(d.agentId);
      if (!framework?.connection || !agent?.active) {
        // The allocator's view lags by at most one event; give the resources straight back.
        this.m.allocator.recoverResources(d.frameworkId, d.agentId, d.resources, undefined, now);
        continue;
      }
      const offer: OfferRecord = {
        id: this.m.nextId('offer'),
        frameworkId: framework.id,
        agentId: agent.id,
        role: d.role,
        resources: d.resources,
        createdAt: now,
      };
      if (this.m.options.offerTimeoutMs > 0) {
        offer.timer = setTimeout(() => this.rescind(offer, true), this.m.options.offerTimeoutMs);
      }
      this.m.offerRecords.set(offer.id, offer);
      framework.offers.add(offer.id);
      agent.offers.add(offer.id);
      let list = byFramework.get(framework);
      if (!list) byFramework.set(framework, (list = []));
      list.push(this.toProto(offer, agent));
      this.m.events.emit('offer', { kind: 'made', offer });
    }
    for (const [framework, offers] of byFramework) {
      framework.connection?.send({ type: 'OFFERS', offers: { offers } });
    }
  }

  toProto(offer: OfferRecord, agent: AgentRecord): Offer {
    return {
      id: { value: offer.id },
      framework_id: { value: offer.frameworkId },
      agent_id: { value: offer.agentId },
      hostname: agent.hostname,
      resources: offer.resources.toProto({ allocationRole: offer.role }),
      attributes: agent.attributes,
      executor_ids: [],
      allocation_info: { role: offer.role },
    };
  }

  /** Forgets an offer without recovering its resources (the caller decides where they go). */
  take(offer: OfferRecord): void {
    clearTimeout(offer.timer);
    this.m.offerRecords.delete(offer.id);
    this.m.frameworkRecords.get(offer.frameworkId)?.offers.delete(offer.id);
    this.m.agentRecords.get(offer.agentId)?.offers.delete(offer.id);
  }

  /** Resources back to the pool, with an optional filter (Mesos' refuse_seconds). */
  recover(frameworkId: string, agentId: string, resources: Resources, refuseSeconds?: number): void {
    if (resources.isEmpty()) return;
    this.m.allocator.recoverResources(frameworkId, agentId, resources, refuseSeconds, Date.now());
  }

  refuseSeconds(filters: Filters | undefined): number {
    return filters?.refuse_seconds ?? this.m.options.defaultRefuseSeconds;
  }

  /** DECLINE: unknown or foreign offer IDs are reported; the others are declined. */
  decline(framework: FrameworkRecord, offerIds: string[], filters?: Filters): string[] {
    const unknown: string[] = [];
    for (const id of offerIds) {
      const offer = this.m.offerRecords.get(id);
      if (!offer || offer.frameworkId !== framework.id) {
        unknown.push(id);
        continue;
      }
      this.take(offer);
      this.recover(offer.frameworkId, offer.agentId, offer.resources, this.refuseSeconds(filters));
      this.m.events.emit('offer', { kind: 'declined', offer });
    }
    return unknown;
  }

  /** Takes an offer back; the framework hears RESCIND when `notify` and it is connected. */
  rescind(offer: OfferRecord, notify: boolean): void {
    if (!this.m.offerRecords.has(offer.id)) return;
    this.take(offer);
    this.recover(offer.frameworkId, offer.agentId, offer.resources);
    if (notify) {
      this.m.frameworkRecords.get(offer.frameworkId)?.connection?.send({ type: 'RESCIND', rescind: { offer_id: { value: offer.id } } });
    }
    this.m.events.emit('offer', { kind: 'rescinded', offer });
  }

  rescindFramework(framework: FrameworkRecord, notify: boolean): void {
    for (const id of [...framework.offers]) {
      const offer = this.m.offerRecords.get(id);
      if (offer) this.rescind(offer, notify);
    }
  }

  rescindAgent(agent: AgentRecord): void {
    for (const id of [...agent.offers]) {
      const offer = this.m.offerRecords.get(id);
      if (offer) this.rescind(offer, true);
    }
  }
}
