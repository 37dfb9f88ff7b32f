// Parses Mermaid files with Mermaid's own parser and reports every file that does not parse.
// Usage: node check.mjs FILE...   Exit code 0 when all parse, 1 otherwise, 2 on bad usage.
// Mermaid needs a DOM (DOMPurify) even to parse; jsdom provides one, no browser required.
import { readFile } from 'node:fs/promises';
import { JSDOM } from 'jsdom';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check.mjs FILE...');
  process.exit(2);
}

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let failed = 0;
for (const file of files) {
  const text = await readFile(file, 'utf8');
  try {
    const result = await mermaid.parse(text);
    if (!result || !String(result.diagramType).startsWith('flowchart')) {
      throw new Error(`not a flowchart: ${JSON.stringify(result)}`);
    }
    console.log(`ok ${file} (${result.diagramType})`);
  } catch (error) {
    failed += 1;
    console.log(`error ${file}: ${error && error.message ? error.message : error}`);
  }
}
process.exit(failed === 0 ? 0 : 1);
