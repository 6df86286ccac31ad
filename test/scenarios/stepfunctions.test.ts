// The scenario contract against the Step Functions orchestrator, in both wait modes: the same list.
import { runContract } from './contract.ts';

runContract('sf', 'poll');
runContract('sf', 'event');
