// A chain holding groups, sent as Celery upgrades it: `a | group(b, c) | d` is `a` then the chord
// (group(b, c), d). Every id is frozen and every group declared (its callback: the step after it)
// before anything is sent; the step before a group sends the members as its link callbacks.
import { newTaskId } from '../../shared/messages/task-id.js';
import type { FinishPublish } from '../../shared/frames.js';
import { ChainResult } from '../results/chain-result.js';
import type { CallOptions } from '../tasks/types.js';
import { appOf } from './canvas-app.js';
import { Group } from './group.js';
import type { Signature } from './signature.js';
import { chainResultOf, frozen, groupExpiry, idOf, memberOptions, prepareStep, registerPending, signatureList, storesResult, withChordHeaders } from './steps.js';

/** A group of the chain with its id and frozen members. */
interface FrozenGroup { id: string; members: Signature[] }
/** A run of signatures between groups: `before` sends its first step (as a chord callback), `after` follows its last. */
interface Segment { before: FrozenGroup | null; sigs: Signature[]; after: FrozenGroup | null }

/**
 * Sends a chain with groups (checked by Chain: it ends in a signature, no two groups in a row).
 * `options` apply as for a flat chain: taskId and link to the last step, linkError to every task.
 */
export async function sendNested<R>(items: readonly (Signature | Group<readonly unknown[]>)[], args: readonly unknown[], options: CallOptions): Promise<ChainResult<R>> {
  const app = appOf(items, 'chain');
  const { taskId, link, linkError, ...rest } = memberOptionsKeepingTaskId(options);
  const errbacks = linkError === undefined ? [] : signatureList(linkError);
  const withErrbacks = (s: Signature): Signature => (errbacks.length === 0 ? s : s.set({ linkError: [...signatureList(s.options.linkError), ...errbacks] }));

  // Freeze every task and cut the chain into segments of signatures between groups.
  const lead: FrozenGroup | null = items[0] instanceof Group ? freezeGroup(items[0], withErrbacks) : null;
  const segments: Segment[] = [];
  let current: Segment = { before: lead, sigs: [], after: null };
  for (const [i, x] of items.entries()) {
    if (i === 0 && lead !== null) continue;
    if (x instanceof Group) {
      const g = freezeGroup(x, withErrbacks);
      current.after = g;
      segments.push(current);
      current = { before: g, sigs: [], after: null };
      continue;
    }
    let s = withErrbacks(x);
    if (i === items.length - 1) {
      const more: CallOptions = {};
      if (taskId !== undefined) more.taskId = taskId;
      if (link !== undefined) more.link = [...signatureList(s.options.link), ...signatureList(link)];
      s = s.set(more);
    }
    current.sigs.push(frozen(s));
  }
  segments.push(current);

  // The step before a group sends its members as link callbacks, each given that step's result.
  for (const seg of segments) {
    if (seg.after === null || seg.sigs.length === 0) continue;
    const last = seg.sigs.length - 1;
    const s = seg.sigs[last]!;
    seg.sigs[last] = s.set({ link: [...signatureList(s.options.link), ...seg.after.members] });
  }

  const callbacks = new Map<string, { publish: FinishPublish; queue: string }>();
  let firstStep: { sig: Signature; call: CallOptions } | null = null;
  for (const seg of segments) {
    const [first, ...later] = seg.sigs;
    if (first === undefined) continue;
    const chainWire = later.map((s) => s.toWire());
    if (seg.before === null) {
      firstStep = { sig: first, call: { ...rest, chain: chainWire } };
      continue;
    }
    const prepared = prepareStep(app, first, { ...first.options, chain: chainWire, headers: withChordHeaders(first, seg.before.id) });
    callbacks.set(seg.before.id, { publish: prepared.publish, queue: prepared.queue });
  }

  // Ids that a worker or the broker sends later wait as PENDING: every step but the first sent
  // here, and the members of every group but a leading one.
  const sentNow = new Set<string>(firstStep === null ? [] : [idOf(firstStep.sig)]);
  const groups = segments.map((s) => s.after).filter((g): g is FrozenGroup => g !== null);
  const allGroups = lead === null ? groups : [lead, ...groups];
  const later = [
    ...segments.flatMap((s) => s.sigs).filter((s) => !sentNow.has(idOf(s)) && storesResult(app, s)),
    ...groups.flatMap((g) => g.members).filter((s) => storesResult(app, s)),
  ].map(idOf);

  const { transport, results } = await app.link();
  for (const cb of callbacks.values()) await app.declarer.ensure(transport, cb.queue);
  await registerPending(app, results, later);
  await Promise.all(allGroups.map((g) => {
    const cb = callbacks.get(g.id);
    return results.declareGroup(g.id, g.members.map(idOf), cb === undefined ? groupExpiry(app) : { callback: cb.publish, ...groupExpiry(app) });
  }));
  if (firstStep !== null) await firstStep.sig.applyAsync(args, firstStep.call);
  if (lead !== null) await Promise.all(lead.members.map((m, i) => m.applyAsync(args, { ...rest, groupId: lead.id, groupIndex: i })));

  return chainResultOf<R>(app, segments.flatMap((s) => s.sigs));
}

function freezeGroup(g: Group<readonly unknown[]>, prepare: (s: Signature) => Signature): FrozenGroup {
  return { id: newTaskId(), members: g.members.map((m) => frozen(prepare(m))) };
}

/** The caller's options without group and chain fields (assigned here), taskId kept for the last step. */
function memberOptionsKeepingTaskId(options: CallOptions): CallOptions {
  const out = memberOptions(options);
  if (options.taskId !== undefined) out.taskId = options.taskId;
  return out;
}
