// One node's figures for bench/node_load.py: ethers v6 against a JSON-RPC URL.
//
//   node load.mjs --url http://127.0.0.1:8545 --artifact Token.json [--txs 200] [--calls 200] [--senders 9] [--pid N]
//
// Workloads (each on pre-signed transactions, so the figures are the node's, not the client's signing):
//   eth-seq     ETH transfers from one sender, each eth_sendRawTransaction awaited before the next
//   eth-burst   ETH transfers from --senders senders, all sent at once (every request in flight together)
//   erc20-seq   ERC-20 transfer() calls, one after another
//   erc20-burst ERC-20 transfer() calls from --senders senders, all in flight
//   call        eth_call balanceOf, one after another (latency)
//   chainid     eth_chainId, one after another (latency: the server alone)
// A transfer workload's time runs from the first send until every receipt is in (receipts are polled until
// then). Afterwards the chain is checked: each transaction mined exactly once, succeeded, each sender's nonces
// consecutive, balances moved by what was sent. With --pid (the server's process), the CPU time the server spent
// in each workload is given too (user + system, from /proc): a figure the load of a shared machine moves less
// than wall time. One JSON document on stdout.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { ethers } from "ethers";

const MNEMONIC = "test test test test test test test test test test test junk";

function args() {
  const out = { txs: 200, calls: 200, senders: 9, workloads: "eth-seq,eth-burst,erc20-seq,erc20-burst,call,chainid" };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  for (const k of ["txs", "calls", "senders"]) out[k] = Number(out[k]);
  return out;
}

const opt = args();
const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

function serverCpu() {
  if (!opt.pid) return null;
  try {
    const stat = readFileSync(`/proc/${opt.pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS; // utime, stime (fields 14 and 15)
  } catch {
    return null;
  }
}

async function withCpu(fn) {
  const before = serverCpu();
  const out = await fn();
  const after = serverCpu();
  if (before !== null && after !== null) out.server_cpu_s = after - before;
  return out;
}
// cacheTimeout -1: no 250 ms request cache (nonces and receipts change faster); batchMaxCount 1: every
// request is its own HTTP request, so "in flight" means concurrent connections, not one batch
const provider = new ethers.JsonRpcProvider(opt.url, undefined, { cacheTimeout: -1, batchMaxCount: 1, staticNetwork: true });
const rpc = (method, params = []) => provider.send(method, params);

function percentiles(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  return { p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] };
}

function wallets(n) {
  const root = ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0");
  return Array.from({ length: n }, (_, i) => root.deriveChild(i).connect(provider));
}

async function fees() {
  const block = await provider.getBlock("latest");
  const tip = 10n ** 9n;
  return { maxPriorityFeePerGas: tip, maxFeePerGas: block.baseFeePerGas * 4n + tip };
}

// `count` transactions from `senders` (round-robin), signed ahead; make(i) gives {to, value, data, gasLimit}
async function presign(senders, count, make) {
  const chainId = (await provider.getNetwork()).chainId;
  const fee = await fees();
  const nonces = await Promise.all(senders.map((w) => rpc("eth_getTransactionCount", [w.address, "pending"]).then(Number)));
  const out = [];
  for (let i = 0; i < count; i++) {
    const k = i % senders.length;
    const w = senders[k];
    const tx = { type: 2, chainId, nonce: nonces[k]++, ...fee, ...make(i) };
    const raw = await w.signTransaction(tx);
    out.push({ raw, hash: ethers.keccak256(raw), from: w.address, nonce: tx.nonce });
  }
  return out;
}

async function receipts(hashes) {
  const got = new Map();
  const deadline = performance.now() + 120_000;
  while (got.size < hashes.length) {
    const missing = hashes.filter((h) => !got.has(h));
    const rs = await Promise.all(missing.map((h) => rpc("eth_getTransactionReceipt", [h])));
    rs.forEach((r, i) => r && got.set(missing[i], r));
    if (got.size < hashes.length) {
      if (performance.now() > deadline) throw new Error(`${hashes.length - got.size} transactions never mined`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return got;
}

async function send(txs, inFlight) {
  const latencies = [];
  const one = async (t) => {
    const t0 = performance.now();
    const h = await rpc("eth_sendRawTransaction", [t.raw]);
    latencies.push(performance.now() - t0);
    if (h.toLowerCase() !== t.hash) throw new Error(`node answered ${h} for ${t.hash}`);
  };
  const start = performance.now();
  if (inFlight) await Promise.all(txs.map(one));
  else for (const t of txs) await one(t);
  const sent = performance.now();
  const got = await receipts(txs.map((t) => t.hash));
  const seconds = (performance.now() - start) / 1000;
  return { seconds, sendSeconds: (sent - start) / 1000, latencies, got };
}

// nothing lost or duplicated: every transaction mined once, succeeded, nonces consecutive per sender
async function verify(txs, got) {
  const blocks = new Set([...got.values()].map((r) => Number(r.blockNumber)));
  const seen = new Map();
  for (const n of blocks) {
    const b = await rpc("eth_getBlockByNumber", [ethers.toQuantity(n), false]);
    for (const h of b.transactions) seen.set(h, (seen.get(h) || 0) + 1);
  }
  const problems = [];
  for (const t of txs) {
    const r = got.get(t.hash);
    if (r.status !== "0x1") problems.push(`${t.hash} failed`);
    if (r.from.toLowerCase() !== t.from.toLowerCase()) problems.push(`${t.hash} from ${r.from}`);
    if (seen.get(t.hash) !== 1) problems.push(`${t.hash} in ${seen.get(t.hash) || 0} blocks`);
  }
  const bySender = new Map();
  for (const t of txs) bySender.set(t.from, [...(bySender.get(t.from) || []), t.nonce]);
  for (const [from, nonces] of bySender) {
    const next = Number(await rpc("eth_getTransactionCount", [from, "latest"]));
    if (next !== Math.max(...nonces) + 1) problems.push(`${from}: nonce ${next} after ${Math.max(...nonces)}`);
  }
  return { blocks: blocks.size, problems };
}

async function transfers(name, senders, make, inFlight, check) {
  const txs = await presign(senders, opt.txs, make);
  const cpu0 = serverCpu();
  const r = await send(txs, inFlight);
  const cpu1 = serverCpu();
  const v = await verify(txs, r.got);
  if (check) v.problems.push(...(await check()));
  return {
    workload: name, txs: txs.length, seconds: r.seconds, send_seconds: r.sendSeconds, tx_per_s: txs.length / r.seconds,
    send_latency_ms: percentiles(r.latencies), blocks: v.blocks, mined: r.got.size, problems: v.problems,
    ...(cpu0 !== null && cpu1 !== null ? { server_cpu_s: cpu1 - cpu0 } : {}),
  };
}

async function latency(name, fn) {
  for (let i = 0; i < 20; i++) await fn(); // warm-up: connections, caches, compiled code
  return withCpu(() => timed(name, fn));
}

async function timed(name, fn) {
  const samples = [];
  for (let i = 0; i < opt.calls; i++) {
    const t0 = performance.now();
    await fn();
    samples.push(performance.now() - t0);
  }
  return { workload: name, calls: samples.length, latency_ms: percentiles(samples) };
}

async function main() {
  const artifact = JSON.parse(readFileSync(opt.artifact, "utf8"));
  const all = wallets(Math.max(2, opt.senders + 1));
  const [owner] = all;
  const senders = all.slice(1, opt.senders + 1);
  const sink = ethers.Wallet.createRandom().address; // an empty account each run: balances are checked
  const token = new ethers.Contract(await (async () => {
    const f = new ethers.ContractFactory(artifact.abi, artifact.bytecode, owner);
    const c = await f.deploy("Bench", "BNC", 10n ** 30n);
    await c.waitForDeployment();
    return c.getAddress();
  })(), artifact.abi, owner);
  for (const w of senders) await (await token.transfer(w.address, 10n ** 24n)).wait();
  const iface = token.interface;
  const tokenAddress = await token.getAddress();
  const erc20 = () => ({ to: tokenAddress, value: 0n, data: iface.encodeFunctionData("transfer", [sink, 1n]), gasLimit: 60_000n });
  const eth = () => ({ to: sink, value: 1n, data: "0x", gasLimit: 21_000n });
  let ethSent = 0n;
  let tokensSent = 0n;
  const ethCheck = async () => {
    const bal = BigInt(await rpc("eth_getBalance", [sink, "latest"]));
    return bal === ethSent ? [] : [`sink holds ${bal} wei, ${ethSent} sent`];
  };
  const tokenCheck = async () => {
    const bal = await token.balanceOf(sink);
    return bal === tokensSent ? [] : [`sink holds ${bal} tokens, ${tokensSent} sent`];
  };
  const out = { url: opt.url, client: `ethers ${ethers.version}`, node: await rpc("web3_clientVersion"), results: [] };
  const todo = new Set(opt.workloads.split(","));
  const balanceOf = iface.encodeFunctionData("balanceOf", [owner.address]);
  if (todo.has("eth-seq")) { ethSent += BigInt(opt.txs); out.results.push(await transfers("eth-seq", [owner], eth, false, ethCheck)); }
  if (todo.has("eth-burst")) { ethSent += BigInt(opt.txs); out.results.push(await transfers("eth-burst", senders, eth, true, ethCheck)); }
  if (todo.has("erc20-seq")) { tokensSent += BigInt(opt.txs); out.results.push(await transfers("erc20-seq", [owner], erc20, false, tokenCheck)); }
  if (todo.has("erc20-burst")) { tokensSent += BigInt(opt.txs); out.results.push(await transfers("erc20-burst", senders, erc20, true, tokenCheck)); }
  if (todo.has("call")) out.results.push(await latency("call", () => rpc("eth_call", [{ to: tokenAddress, data: balanceOf }, "latest"])));
  if (todo.has("chainid")) out.results.push(await latency("chainid", () => rpc("eth_chainId")));
  process.stdout.write(JSON.stringify(out) + "\n");
  provider.destroy();
}

main().catch((e) => {
  process.stderr.write(`load: ${e.stack || e}\n`);
  process.exit(1);
});
