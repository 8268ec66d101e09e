// `npm run openapi`: writes docs/openapi.json, the OpenAPI 3.1 document of the
// published API, generated from the route catalogue in @cloudflow/contracts.
// A unit test fails while the committed file and the code disagree.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiJson } from '@cloudflow/contracts';

const target = join(__dirname, '..', '..', '..', 'docs', 'openapi.json');
writeFileSync(target, openApiJson());
console.log(`wrote ${target}`);
