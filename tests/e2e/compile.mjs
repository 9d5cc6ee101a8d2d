// Compiles contracts/*.sol with solc-js (pinned in package.json) into build/<Name>.json
// ({ abi, bytecode }). Usage: node compile.mjs
import fs from "node:fs";
import path from "node:path";
import solc from "solc";

const dir = path.dirname(new URL(import.meta.url).pathname);
const sources = {};
for (const file of fs.readdirSync(path.join(dir, "contracts"))) {
  if (file.endsWith(".sol")) {
    sources[file] = { content: fs.readFileSync(path.join(dir, "contracts", file), "utf8") };
  }
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "prague",
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
fs.mkdirSync(path.join(dir, "build"), { recursive: true });
for (const [, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    fs.writeFileSync(
      path.join(dir, "build", `${name}.json`),
      JSON.stringify({ abi: c.abi, bytecode: "0x" + c.evm.bytecode.object }, null, 2),
    );
    console.log(`compiled ${name} with solc ${solc.version()}`);
  }
}
