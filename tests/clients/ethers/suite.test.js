// What a Hardhat test file does, with ethers v6 against an evm-mlir node (tests/test_clients_ethers.py starts
// the node and runs `npm ci` and this suite):
//   fixtures on evm_snapshot / evm_revert (Hardhat's loadFixture), time travel, setBalance, impersonation,
//   a WebSocket `logs` subscription, signMessage / signTypedData verified with ethers.
// Environment: EVM_MLIR_URL (http://...), EVM_MLIR_WS (ws://...), LOCK_ARTIFACT (JSON {abi, bytecode} of the
// Lock contract, compiled with vyper by the Python wrapper).
//
// ethers v6 caches identical requests for 250 ms; against a node that seals a block per transaction that
// serves stale nonces and balances, hence `cacheTimeout: -1` (anvil users meet the same).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { ethers } from "ethers";

const URL = process.env.EVM_MLIR_URL;
const WS = process.env.EVM_MLIR_WS;
const { abi, bytecode } = JSON.parse(readFileSync(process.env.LOCK_ARTIFACT, "utf8"));
const provider = new ethers.JsonRpcProvider(URL, undefined, { cacheTimeout: -1, staticNetwork: true });
const send = (method, params = []) => provider.send(method, params);

// Hardhat's loadFixture: the first call runs the fixture and snapshots; later calls revert to that snapshot
// (the id is used up) and take a new one.
const fixtures = new Map();
async function loadFixture(fixture) {
  const known = fixtures.get(fixture);
  if (known) {
    assert.equal(await send("evm_revert", [known.snapshot]), true);
    known.snapshot = await send("evm_snapshot");
    return known.data;
  }
  const data = await fixture();
  fixtures.set(fixture, { data, snapshot: await send("evm_snapshot") });
  return data;
}

const ONE_YEAR = 365 * 24 * 3600;

async function deployLock() {
  const [owner, other] = await Promise.all([provider.getSigner(0), provider.getSigner(1)]);
  const unlockTime = (await provider.getBlock("latest")).timestamp + ONE_YEAR;
  const factory = new ethers.ContractFactory(abi, bytecode, owner);
  const lock = await factory.deploy(unlockTime, { value: ethers.parseEther("1") });
  await lock.waitForDeployment();
  return { lock, owner, other, unlockTime, deployedAt: await provider.getBlockNumber() };
}

let outer;
before(async () => {
  outer = await send("evm_snapshot");
  // the dev genesis is stamped 0 (its hash is fixed): a first block brings `latest` to the wall clock
  if (await provider.getBlockNumber() === 0) await send("evm_mine");
});
after(async () => {
  await send("evm_revert", [outer]);
  provider.destroy();
});

test("fixture: deploy, act, and the next test starts from the deployment again", async () => {
  const { lock, owner, deployedAt } = await loadFixture(deployLock);
  assert.equal(await lock.owner(), owner.address);
  assert.equal(await provider.getBalance(await lock.getAddress()), ethers.parseEther("1"));
  const tx = await lock.deposit({ value: 1234n });
  const receipt = await tx.wait();
  assert.equal(receipt.status, 1);
  const event = lock.interface.parseLog(receipt.logs[0]);
  assert.equal(event.name, "Deposited");
  assert.equal(event.args.amount, 1234n);
  assert.equal(await lock.balances(owner.address), 1234n);
  assert.equal(await provider.getBlockNumber(), deployedAt + 1);
});

test("fixture again: the deposit is gone, the chain is back at the deployment", async () => {
  const { lock, owner, deployedAt } = await loadFixture(deployLock);
  assert.equal(await lock.balances(owner.address), 0n);
  assert.equal(await provider.getBlockNumber(), deployedAt);
  assert.equal(await provider.getBalance(await lock.getAddress()), ethers.parseEther("1"));
});

test("time travel: locked until a year has passed", async () => {
  const { lock, owner, unlockTime } = await loadFixture(deployLock);
  await assert.rejects(lock.withdraw(), (err) => err.reason === "locked");
  await send("evm_increaseTime", [ONE_YEAR - 3600]);
  await send("evm_mine");
  await assert.rejects(lock.withdraw(), (err) => err.reason === "locked");
  await send("evm_setNextBlockTimestamp", [unlockTime]);
  const before = await provider.getBalance(owner.address);
  const receipt = await (await lock.withdraw()).wait();
  assert.equal((await provider.getBlock(receipt.blockNumber)).timestamp, unlockTime);
  const fee = receipt.gasUsed * receipt.gasPrice;
  assert.equal(await provider.getBalance(owner.address), before + ethers.parseEther("1") - fee);
});

test("setBalance, setCode, setStorageAt and mine", async () => {
  await loadFixture(deployLock);
  const rich = ethers.Wallet.createRandom().address;
  await send("hardhat_setBalance", [rich, ethers.toQuantity(ethers.parseEther("123"))]);
  assert.equal(await provider.getBalance(rich), ethers.parseEther("123"));
  await send("anvil_setCode", [rich, "0x60005460005260206000f3"]);  // returns storage slot 0
  await send("hardhat_setStorageAt", [rich, "0x0", ethers.zeroPadValue("0x2a", 32)]);
  assert.equal(BigInt(await provider.call({ to: rich })), 42n);
  const start = await provider.getBlockNumber();
  await send("hardhat_mine", ["0x64"]);  // 100 blocks
  assert.equal(await provider.getBlockNumber(), start + 100);
});

test("impersonation: a keyless account deploys and withdraws", async () => {
  await loadFixture(deployLock);
  const whale = ethers.Wallet.createRandom().address;
  await send("hardhat_setBalance", [whale, ethers.toQuantity(ethers.parseEther("10"))]);
  await send("hardhat_impersonateAccount", [whale]);
  const signer = await provider.getSigner(whale);
  const now = (await provider.getBlock("latest")).timestamp;
  const lock = await new ethers.ContractFactory(abi, bytecode, signer).deploy(now + 10, { value: 5n });
  await lock.waitForDeployment();
  assert.equal(await lock.owner(), whale);
  const [other] = [await provider.getSigner(1)];
  await send("evm_increaseTime", [20]);
  await assert.rejects(lock.connect(other).withdraw(), (err) => err.reason === "not owner");
  const receipt = await (await lock.withdraw()).wait();
  assert.equal(receipt.from, whale);
  assert.equal(await provider.getBalance(await lock.getAddress()), 0n);
  await send("hardhat_stopImpersonatingAccount", [whale]);
  await assert.rejects(signer.sendTransaction({ to: whale, value: 1n }));
});

test("WebSocket: a logs subscription sees the deposits", async () => {
  const { lock } = await loadFixture(deployLock);
  const ws = new ethers.WebSocketProvider(WS, undefined, { cacheTimeout: -1, staticNetwork: true });
  try {
    const address = await lock.getAddress();
    const watched = new ethers.Contract(address, abi, ws);
    const seen = [];
    const twoDeposits = new Promise((resolve) => {
      watched.on("Deposited", (who, amount) => {
        seen.push(amount);
        if (seen.length === 2) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, 200));  // the eth_subscribe goes out on the first listener
    await (await lock.deposit({ value: 7n })).wait();
    await (await lock.deposit({ value: 8n })).wait();
    await Promise.race([twoDeposits,
      new Promise((_, reject) => setTimeout(() => reject(new Error("no logs over WebSocket")), 15000))]);
    assert.deepEqual(seen, [7n, 8n]);
    await watched.removeAllListeners();
  } finally {
    await ws.destroy();
  }
});

test("signMessage and signTypedData, verified with ethers", async () => {
  const signer = await provider.getSigner(2);
  const message = "evm-mlir says hello";
  const sig = await signer.signMessage(message);
  assert.equal(ethers.verifyMessage(message, sig), signer.address);
  const bytes = ethers.toUtf8Bytes("\x00\x01 raw bytes");
  assert.equal(ethers.verifyMessage(bytes, await signer.signMessage(bytes)), signer.address);
  const domain = { name: "Lock", version: "1", chainId: 1337, verifyingContract: "0x" + "cc".repeat(20) };
  const types = {
    Person: [{ name: "name", type: "string" }, { name: "wallet", type: "address" }],
    Mail: [{ name: "from", type: "Person" }, { name: "to", type: "Person" }, { name: "contents", type: "string" },
           { name: "amounts", type: "uint256[]" }],
  };
  const value = {
    from: { name: "Cow", wallet: "0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826" },
    to: { name: "Bob", wallet: "0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB" },
    contents: "Hello, Bob!", amounts: [1n, 2n ** 200n],
  };
  const typedSig = await signer.signTypedData(domain, types, value);
  assert.equal(ethers.verifyTypedData(domain, types, value, typedSig), signer.address);
  const tx = await signer.signTransaction({ to: signer.address, value: 1n });
  assert.equal(ethers.Transaction.from(tx).from, signer.address);
});
