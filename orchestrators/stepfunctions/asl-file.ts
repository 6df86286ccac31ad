// The text of state-machine.asl.json as `npm run asl` writes it: the definition of state-machine.ts,
// formatted by the project's Prettier (so `prettier --check .` and the freshness test agree).
import { format, resolveConfig } from 'prettier';
import { STATE_MACHINE_ASL_PATH } from './definition.ts';
import { stateMachineDefinition } from './state-machine.ts';

export async function generatedAsl(): Promise<string> {
  const options = await resolveConfig(STATE_MACHINE_ASL_PATH);
  return format(JSON.stringify(stateMachineDefinition()), { ...options, filepath: STATE_MACHINE_ASL_PATH });
}
