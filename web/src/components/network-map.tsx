/**
 * The picture of the network: this peer in the middle, the others on rings by overlay distance,
 * lines for the overlay links. After a search, the peers that answered are coloured by the hops
 * their hits travelled.
 */
import { hopsLabel, shortId } from '../format.ts';
import { layout } from '../network-layout.ts';
import type { NetworkView } from '../types.ts';

const NODE_R = 16;

export function NetworkMap({
  view,
  answered,
  query,
}: {
  view: NetworkView;
  answered: Map<string, number>;
  query: string;
}) {
  const ids = [view.self, ...view.peers.map((p) => p.peerId)];
  const { width, height, peers, rings } = layout(view.self, ids, view.links);
  const at = new Map(peers.map((p) => [p.peerId, p]));
  const info = new Map(view.peers.map((p) => [p.peerId, p]));
  const mapped = new Set(view.mapped);
  const summary = `${ids.length} peers, ${view.links.length} overlay links${query ? `; ${answered.size} answered the search “${query}”` : ''}.`;
  return (
    <figure class="map">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-labelledby="map-title map-desc" data-testid="network-map">
        <title id="map-title">The network as this peer sees it</title>
        <desc id="map-desc">{summary}</desc>
        {rings.map((r, i) => (
          <circle key={i} class="ring" cx={width / 2} cy={height / 2} r={r} />
        ))}
        {view.links.map((l) => {
          const a = at.get(l.a);
          const b = at.get(l.b);
          if (!a || !b) return null;
          const lit =
            (answered.has(l.a) || l.a === view.self) && (answered.has(l.b) || l.b === view.self) && answered.size > 0;
          return <line key={`${l.a}-${l.b}`} class={`link${lit ? ' lit' : ''}`} x1={a.x} y1={a.y} x2={b.x} y2={b.y} />;
        })}
        {peers.map((p) => {
          const self = p.peerId === view.self;
          const state = self ? 'self' : (info.get(p.peerId)?.state ?? 'unknown');
          const hops = answered.get(p.peerId);
          const classes = [
            'node',
            `state-${state}`,
            hops !== undefined ? `answered hops-${Math.min(hops, 4)}` : '',
            !self && !mapped.has(p.peerId) ? 'unmapped' : '',
          ];
          const label = self ? 'this peer' : shortId(p.peerId).slice(0, 6);
          const detail = [
            self ? 'this peer' : `peer ${p.peerId}`,
            self ? '' : state,
            p.distance === null
              ? 'no known link reaches it'
              : p.distance > 0
                ? `${p.distance} link${p.distance === 1 ? '' : 's'} away`
                : '',
            hops !== undefined ? `answered the search (${hopsLabel(hops)})` : '',
            !self && !mapped.has(p.peerId) ? 'its own links are unknown (it did not answer)' : '',
          ].filter(Boolean);
          return (
            <g
              key={p.peerId}
              class={classes.filter(Boolean).join(' ')}
              transform={`translate(${p.x} ${p.y})`}
              data-peer={p.peerId}
              data-hops={hops ?? ''}
            >
              <title>{detail.join(', ')}</title>
              <circle r={NODE_R} />
              {hops !== undefined ? (
                <text class="hop-count" y={5} text-anchor="middle">
                  {hops}
                </text>
              ) : null}
              <text class="node-label" y={NODE_R + 15} text-anchor="middle">
                {label}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption class="legend">
        <span>
          <i class="swatch self" /> this peer
        </span>
        <span>
          <i class="swatch alive" /> alive
        </span>
        <span>
          <i class="swatch firewalled" /> firewalled (connects back)
        </span>
        <span>
          <i class="swatch suspected" /> suspected
        </span>
        <span>
          <i class="swatch down" /> down / left
        </span>
        <span>
          <i class="line-swatch" /> overlay link (searches travel along them)
        </span>
        {answered.size > 0 ? (
          <>
            <span>
              <i class="swatch answered" /> answered “{query}”, number = hops
            </span>
            <span>
              <i class="line-swatch lit" /> link between this peer and peers that answered
            </span>
          </>
        ) : null}
        <span class="muted">Rings: links away from this peer. Dashed: links unknown.</span>
      </figcaption>
    </figure>
  );
}
