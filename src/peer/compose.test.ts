import { describe, expect, it } from 'vitest';
import type { SearchService } from '../search/service.ts';
import { withParts } from './compose.ts';

/** A Search stand-in that records its lifecycle in `log` and learns its addresses when started. */
function fakeSearch(log: string[]): SearchService {
  let searchAddress = '';
  let apiUrl = '';
  return {
    name: 'search',
    engine: {} as SearchService['engine'],
    links: {} as SearchService['links'],
    get searchAddress() {
      return searchAddress;
    },
    get apiUrl() {
      return apiUrl;
    },
    start: async () => {
      log.push('start search');
      searchAddress = '127.0.0.1:7872';
      apiUrl = 'http://127.0.0.1:7873';
    },
    stop: async () => void log.push('stop search'),
  };
}

describe('withParts', () => {
  it('starts the parts in order before the service and stops them in reverse after it', async () => {
    const log: string[] = [];
    const part = (name: string) => ({
      start: () => void log.push(`start ${name}`),
      stop: () => void log.push(`stop ${name}`),
    });
    const service = withParts(fakeSearch(log), part('catalog'), part('poller'), {});
    await service.start();
    await service.stop();
    expect(log).toEqual([
      'start catalog',
      'start poller',
      'start search',
      'stop search',
      'stop poller',
      'stop catalog',
    ]);
  });

  it("reads the service's own members through, the addresses as they are once it has started", async () => {
    const search = fakeSearch([]);
    const service = withParts(search);
    expect(service).toMatchObject({ name: 'search', searchAddress: '', apiUrl: '' });
    expect(service.engine).toBe(search.engine);
    expect(service.links).toBe(search.links);
    await service.start();
    expect(service).toMatchObject({ searchAddress: '127.0.0.1:7872', apiUrl: 'http://127.0.0.1:7873' });
  });
});
