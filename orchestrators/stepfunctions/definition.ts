// The state machine's ASL file and its definition substitutions, the way the CDK stack's
// `definitionSubstitutions` fill them in: `${Name}` inside JSON strings only, so the file stays valid
// JSON (and checkable) before deployment. The local deployer (local/deploy-app.ts) renders it with
// this function too, so the renderer the tests check is the one that deploys.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The ASL file the CDK stack and the local cloud deploy. */
export const STATE_MACHINE_ASL_PATH = fileURLToPath(new URL('./state-machine.asl.json', import.meta.url));

/** Every substitution the ASL uses. */
export const DEFINITION_SUBSTITUTIONS = ['TasksFunctionArn'] as const;
export type DefinitionSubstitutions = Record<(typeof DEFINITION_SUBSTITUTIONS)[number], string>;

export function readStateMachineAsl(): string {
  return readFileSync(STATE_MACHINE_ASL_PATH, 'utf8');
}

/** The ASL text with every `${Name}` replaced; throws naming a substitution it has no value for. */
export function renderDefinition(
  text: string,
  substitutions: DefinitionSubstitutions | Readonly<Record<string, string>>,
): string {
  return text.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_whole, name: string) => {
    const value = (substitutions as Record<string, string | undefined>)[name];
    if (value === undefined)
      throw new Error(`the state machine definition uses \${${name}}, which has no substitution`);
    // The value lands inside a JSON string.
    return JSON.stringify(value).slice(1, -1);
  });
}
