// The scenario contract against the durable-function orchestrator, in both wait modes.
import { runContract } from './contract.ts';

runContract('ldf', 'poll');
runContract('ldf', 'event');
