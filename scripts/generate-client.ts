// `npm run generate:client`: writes the client package's OpenAPI document and types from the routes.
import { writeFile } from 'node:fs/promises';
import { contractFiles, onDisk } from './client-contract.js';

for (const file of await contractFiles()) {
  await writeFile(onDisk(file), file.text);
  console.log(`wrote ${file.path}`);
}
