// Overview: the broker's totals as cards, message rates and queued messages over the last minutes
// as charts, and the deepest queues; redrawn from each `overview` event of the stream.
import { lineChart } from './chart.js';
import type { Context, View } from './context.js';
import { bytes, count, h, rate, replace } from './dom.js';

function card(label: string, value: string, key: string): HTMLElement {
  return h('div', { class: 'card', 'data-card': key }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

function draw(root: HTMLElement, ctx: Context): void {
  const o = ctx.overview;
  const cards = h('div', { class: 'cards' });
  if (o !== undefined) {
    cards.append(
      card('Ready', count(o.messages.ready), 'ready'),
      card('Unacked', count(o.messages.unacked), 'unacked'),
      card('Delayed', count(o.messages.delayed), 'delayed'),
      card('Publish /s', rate(o.rates.publish), 'publish'),
      card('Deliver /s', rate(o.rates.deliver), 'deliver'),
      card('Ack /s', rate(o.rates.ack), 'ack'),
      card('Queues', count(o.queues), 'queues'),
      card('Consumers', count(o.consumers), 'consumers'),
      card('Connections', count(o.connections), 'connections'),
      card('Published', count(o.totals.published), 'published'),
      card('Store', bytes(o.store.bytes), 'store'),
      card('Memory', bytes(o.memory.rss), 'memory'),
    );
  }
  const times = ctx.points.map((p) => p.at);
  const rates = lineChart(times, [
    { label: 'publish', cls: 's-publish', values: ctx.points.map((p) => p.rates.publish) },
    { label: 'deliver', cls: 's-deliver', values: ctx.points.map((p) => p.rates.deliver) },
    { label: 'ack', cls: 's-ack', values: ctx.points.map((p) => p.rates.ack) },
  ], 'message rates, messages per second');
  const depths = lineChart(times, [
    { label: 'ready', cls: 's-ready', values: ctx.points.map((p) => p.messages.ready) },
    { label: 'unacked', cls: 's-unacked', values: ctx.points.map((p) => p.messages.unacked) },
    { label: 'delayed', cls: 's-delayed', values: ctx.points.map((p) => p.messages.delayed) },
  ], 'messages in queues');
  const deepest = [...ctx.queues.values()].sort((a, b) => b.messages - a.messages).slice(0, 8);
  replace(root,
    h('h1', {}, 'Overview', o === undefined ? null : h('span', { class: 'muted' }, ` · broker ${o.version}${o.blocked ? ' · publishing blocked (memory)' : ''}`)),
    cards,
    h('div', { class: 'charts' },
      h('section', { class: 'panel' }, h('h2', {}, 'Message rates (/s)'), rates),
      h('section', { class: 'panel' }, h('h2', {}, 'Queued messages'), depths)),
    h('h2', {}, 'Deepest queues'),
    h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', {}, 'Vhost'), h('th', { class: 'num' }, 'Ready'), h('th', { class: 'num' }, 'Unacked'), h('th', { class: 'num' }, 'Consumers'))),
      h('tbody', {}, ...deepest.map((q) => h('tr', {},
        h('td', {}, q.name), h('td', {}, q.vhost), h('td', { class: 'num' }, count(q.ready)), h('td', { class: 'num' }, count(q.unacked)), h('td', { class: 'num' }, count(q.consumers)))))));
}

export const overviewView: View = (root, ctx) => {
  draw(root, ctx);
  const stops = [ctx.live.on('overview', () => draw(root, ctx)), ctx.live.on('history', () => draw(root, ctx))];
  return () => stops.forEach((s) => s());
};
