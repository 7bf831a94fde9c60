/**
 * The in-process adapter of Search's LocalIndex port: File Management's query port (match,
 * lookup and the route table on its FileManager) and its term folding, so the words sent on the
 * wire are cut exactly as the catalog indexes names. Lives in the composition root because it
 * names both services. Search running alone uses it too, over its own reader of the catalog.
 */
import type { FileManager } from '../files/domain/file-manager.ts';
import { parseTerms } from '../files/domain/terms.ts';
import { MAX_TERM_LENGTH } from '../protocol/limits.ts';
import type { LocalIndex } from '../search/ports.ts';

export function fileManagerIndex(manager: FileManager): LocalIndex {
  return {
    parseTerms: (text) => parseTerms(text).map((t) => t.slice(0, MAX_TERM_LENGTH)),
    match: async (terms, limit) => manager.match(terms, limit),
    lookup: async (fileId) => manager.lookup(fileId),
    routeTable: async () => manager.routeTable(),
  };
}
