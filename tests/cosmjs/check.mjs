// A real CometBFT client library, CosmJS's Comet38Client, against Veil's dev chain RPC:
// every call a wallet or explorer built on CosmJS makes first must answer in the shape
// CosmJS decodes. usage: node check.mjs RPC_URL CHAIN_ID
import { connectComet, Comet38Client } from "@cosmjs/tendermint-rpc";

const [url, chainId] = process.argv.slice(2);
const fail = (what) => {
  console.error(`cosmjs_check: ${what}`);
  process.exit(1);
};
const c = await connectComet(url);
if (!(c instanceof Comet38Client)) fail(`connectComet chose ${c.constructor.name}, not Comet38Client`);
const st = await c.status();
if (st.nodeInfo.network !== chainId) fail(`status: network ${st.nodeInfo.network}`);
const height = st.syncInfo.latestBlockHeight;
if (!(height >= 2)) fail(`status: height ${height}`);
const b = await c.block(height);
if (b.block.header.height !== height || b.block.header.chainId !== chainId) fail("block");
const g = await c.genesis();
if (g.chainId !== chainId) fail("genesis");
const u = await c.numUnconfirmedTxs();
if (typeof u.total !== "number") fail("num_unconfirmed_txs");
const v = await c.validatorsAll(height);
if (v.validators.length !== 1) fail("validators");
const r = await c.blockResults(height);
if (r.height !== height) fail("block_results");
const bs = await c.blockSearchAll({ query: `block.height >= 1 AND block.height <= 2` });
if (bs.totalCount !== 2 || bs.blocks.length !== 2) fail(`block_search: ${bs.totalCount}`);
const ts = await c.txSearchAll({ query: `tx.height >= 1` });
if (typeof ts.totalCount !== "number") fail("tx_search");
const info = await c.abciInfo();
if (info.data !== "veil") fail(`abci_info: ${info.data}`);
const c2 = await c.commit(height);
if (c2.header.height !== height) fail("commit");
c.disconnect();
console.log(`cosmjs_check: Comet38Client read chain ${chainId} at height ${height}: status, block, ` +
  `genesis, num_unconfirmed_txs, validators, block_results, block_search, tx_search, abci_info, commit`);
