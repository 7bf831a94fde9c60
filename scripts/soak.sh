#!/bin/sh
# Longer versions of the namespace scenarios of docs/RELIABILITY.md than `npm test` runs, on the
# same test beds (root, network namespaces). Usage: npm run soak -- partition
set -e
case "$1" in
  partition)
    # Six hosts split 3 / 3 for 60 s (PEERSHARE_SOAK_PARTITION_MS), searched inside each half throughout, then healed.
    PEERSHARE_SOAK_PARTITION_MS="${PEERSHARE_SOAK_PARTITION_MS:-60000}" exec npx vitest run test/peer/real-hosts.test.ts -t 'splits in two' ;;
  *)
    echo "usage: npm run soak -- partition" >&2
    exit 2 ;;
esac
