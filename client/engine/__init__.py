"""The Engine API: the authenticated JSON-RPC a consensus client drives the execution client through
(execution-apis src/engine/*.md, Paris..Osaka). `auth` checks JWT bearer tokens, `payload` converts execution
payloads to blocks and back, `forkchoice` moves the canonical head, `builder` builds payloads from the pool,
`api` holds the `engine_*` methods and `server` serves them over HTTP."""
