/** The peers this peer knows (state, last seen, files) and the picture of the overlay between them. */
import { ago, hopsLabel, plural, shortId } from '../format.ts';
import type { NetworkView as Network } from '../types.ts';
import { usePolled } from '../use-polled.ts';
import { NetworkMap } from './network-map.tsx';
import { Empty, ErrorNote } from './notes.tsx';

export function NetworkView({ answered, query }: { answered: Map<string, number>; query: string }) {
  const network = usePolled<Network>('/network', 5_000);
  const view = network.data;
  const now = Date.now();
  const order: Record<string, number> = { alive: 0, firewalled: 1, suspected: 2, down: 3, left: 4 };
  const peers = [...(view?.peers ?? [])].sort(
    (a, b) => (order[a.state] ?? 9) - (order[b.state] ?? 9) || b.lastSeen - a.lastSeen,
  );
  return (
    <section aria-labelledby="network-title">
      <div class="panel-head">
        <h2 id="network-title">Network</h2>
        <button type="button" class="small secondary" onClick={network.refresh}>
          Refresh
        </button>
      </div>
      <ErrorNote error={network.error} prefix="Could not read the network:" />
      {view ? (
        <>
          {query && answered.size > 0 ? (
            <p class="note" role="status">
              The search “{query}” was answered by {plural(answered.size, 'peer')}:{' '}
              {[...answered].map(([id, hops], i) => (
                <span key={id}>
                  {i > 0 ? ', ' : ''}
                  {id === view.self ? 'this peer' : `${shortId(id)} (${hopsLabel(hops)})`}
                </span>
              ))}
              .
            </p>
          ) : null}
          <NetworkMap view={view} answered={answered} query={query} />
          <h3>
            Known peers{' '}
            <span class="muted">
              · {peers.filter((p) => p.state === 'alive').length} alive of {peers.length}
            </span>
          </h3>
          {peers.length === 0 ? (
            <Empty title="This peer knows no other peer yet">
              Start another peer with <code>--join</code> and the address of this one; peers find each other within a
              few seconds.
            </Empty>
          ) : (
            <div class="table-wrap">
              <table class="peers">
                <thead>
                  <tr>
                    <th scope="col">Peer</th>
                    <th scope="col">State</th>
                    <th scope="col">Last seen</th>
                    <th scope="col" class="num">
                      Files
                    </th>
                    <th scope="col">Address</th>
                  </tr>
                </thead>
                <tbody>
                  {peers.map((p) => (
                    <tr key={p.peerId} data-peer={p.peerId}>
                      <td>
                        <code title={p.peerId}>{shortId(p.peerId)}</code>
                        {answered.has(p.peerId) ? (
                          <span class="badge state-running">answered · {hopsLabel(answered.get(p.peerId)!)}</span>
                        ) : null}
                      </td>
                      <td>
                        <span class={`badge state-${p.state}`}>{p.state}</span>
                      </td>
                      <td>{ago(p.lastSeen, now)}</td>
                      <td class="num">{p.files}</td>
                      <td class="muted">{p.addresses.files.replace(/:\d+$/, '')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      ) : null}
    </section>
  );
}
