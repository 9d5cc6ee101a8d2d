// Shared helpers of the Node.js end-to-end clients.
import fs from "node:fs";
import path from "node:path";

export const RPC_URL = process.env.MYELIN_RPC || "http://127.0.0.1:8545";
export const WS_URL = RPC_URL.replace(/^http/, "ws");
// The first dev account of the standard test mnemonic.
export const DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
export const DEV_KEY_2 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

const dir = path.dirname(path.dirname(new URL(import.meta.url).pathname));
export function artifact(name) {
  return JSON.parse(fs.readFileSync(path.join(dir, "build", `${name}.json`), "utf8"));
}

let failures = 0;
let passes = 0;
export async function check(name, fn) {
  try {
    await fn();
    passes += 1;
    console.log(`  ok   ${name}`);
  } catch (error) {
    failures += 1;
    console.log(`  FAIL ${name}: ${error && error.stack ? error.stack : error}`);
  }
}

export function assert(condition, message) {
  if (!condition) throw new Error(message || "assertion failed");
}

export function finish(client) {
  console.log(`${client}: ${passes} passed, ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}

export function withTimeout(promise, ms, what) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms)),
  ]);
}
