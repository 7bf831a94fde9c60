/**
 * The peershare commands against a 3-peer network where each peer runs in one process
 * (`peershare start`'s wiring) with the embedded queue: every scenario of command-scenarios.ts.
 */
import { startOneProcessNetwork } from '../support/command-network.ts';
import { commandScenarios, NETWORK_OPTIONS } from './command-scenarios.ts';

commandScenarios('peershare commands, each peer one process', (defer) =>
  startOneProcessNetwork(defer, NETWORK_OPTIONS),
);
