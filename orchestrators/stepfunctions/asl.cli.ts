// `npm run asl`: writes state-machine.asl.json from state-machine.ts. The JSON stays checked in: it is
// what the CDK stack deploys and what the local cloud runs; state-machine.test.ts fails when it is stale.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { generatedAsl } from './asl-file.ts';
import { STATE_MACHINE_ASL_PATH } from './definition.ts';

writeFileSync(STATE_MACHINE_ASL_PATH, await generatedAsl());
console.log(`wrote ${relative(process.cwd(), STATE_MACHINE_ASL_PATH)}`);
