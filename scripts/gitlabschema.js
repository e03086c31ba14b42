// Prints the GitLab CI JSON schema that gitlab-ci-local bundles (as a JavaScript
// object literal in dist/index.js) as JSON: node scripts/gitlabschema.js <index.js>.
const fs = require('fs'), vm = require('vm');
const src = fs.readFileSync(process.argv[2], 'utf8');
const marker = '{$schema:"http://json-schema.org/draft-07/schema#",$id:"https://gitlab.com/.gitlab-ci.yml"';
let i = src.indexOf(marker);
if (i < 0) throw new Error('schema not found');
let depth = 0, j = i, q = null;
for (; j < src.length; j++) {
  const c = src[j];
  if (q) { if (c === '\\') { j++; continue; } if (c === q) q = null; continue; }
  if (c === '"' || c === "'" || c === '`') { q = c; continue; }
  if (c === '{') depth++;
  if (c === '}') { depth--; if (depth === 0) break; }
}
const obj = vm.runInNewContext('(' + src.slice(i, j + 1) + ')');
process.stdout.write(JSON.stringify(obj, null, 2) + '\n');
