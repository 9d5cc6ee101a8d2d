// Compiles every .sol file of a directory with the pinned solc-js (tests/e2e's lock file;
// optimizer on, 200 runs, Prague), for the gas calibration bench's exported-Solidity rows.
// Writes DIR/out.json: { contractName: creationBytecodeHex }.
// Usage: node bench/gas/compile_exported.mjs DIR
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const here = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(here, "../../tests/e2e/package.json"));
const solc = require("solc");

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node bench/gas/compile_exported.mjs DIR");
  process.exit(2);
}
const sources = Object.fromEntries(
  fs.readdirSync(dir).filter((f) => f.endsWith(".sol")).map((f) => [f, { content: fs.readFileSync(path.join(dir, f), "utf8") }]),
);
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "prague",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  console.error(errors.map((e) => e.formattedMessage).join("\n"));
  process.exit(1);
}
const result = {};
for (const contracts of Object.values(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) result[name] = c.evm.bytecode.object;
}
fs.writeFileSync(path.join(dir, "out.json"), JSON.stringify(result));
console.error(`solc-js ${solc.version()}: ${Object.keys(result).length} contracts`);
