// Writes protocol frames exactly as the JavaScript automerge-repo encodes them, as golden files
// for rapport-proto's tests (crates/rapport-proto/tests/golden/). Run from this folder after
// `npm ci`: `node golden.mjs`. The frames are deterministic: fixed ids, actor and times.
import { writeFileSync, mkdirSync } from "node:fs"
import { cbor, stringifyAutomergeUrl } from "@automerge/automerge-repo/slim"
import * as Automerge from "@automerge/automerge"

const out = new URL("../../crates/rapport-proto/tests/golden/", import.meta.url)
mkdirSync(out, { recursive: true })

const documentId = stringifyAutomergeUrl({ documentId: new Uint8Array(16).fill(9) }).slice("automerge:".length)
const client = "browser-tab-1"
const relay = "relay-1"

// A real Automerge sync message, as a browser tab would send it for a document it holds.
let doc = Automerge.init({ actor: "0123456789abcdef0123456789abcdef" })
doc = Automerge.change(doc, { time: 1_700_000_000 }, d => {
  d.name = "Globex"
  d.timeline = {}
})
const [, syncData] = Automerge.generateSyncMessage(doc, Automerge.initSyncState())

const frames = {
  "join-ephemeral": { type: "join", senderId: client, peerMetadata: { storageId: undefined, isEphemeral: true }, supportedProtocolVersions: ["1"] },
  "join-storage": { type: "join", senderId: client, peerMetadata: { storageId: "storage-a", isEphemeral: false }, supportedProtocolVersions: ["1"] },
  "peer": { type: "peer", senderId: relay, peerMetadata: { storageId: "storage-r", isEphemeral: false }, selectedProtocolVersion: "1", targetId: client },
  "request": { type: "request", senderId: client, targetId: relay, documentId, data: syncData },
  "sync": { type: "sync", senderId: client, targetId: relay, documentId, data: syncData },
  "doc-unavailable": { type: "doc-unavailable", senderId: relay, targetId: client, documentId },
  "ephemeral": { type: "ephemeral", senderId: client, targetId: relay, count: 3, sessionId: "session-1", documentId, data: cbor.encode({ cursor: 12 }) },
  "error": { type: "error", senderId: relay, message: "unsupported protocol version", targetId: client },
  "leave": { type: "leave", senderId: client },
  "remote-heads-changed": {
    type: "remote-heads-changed", senderId: relay, targetId: client, documentId,
    newHeads: { "storage-a": { heads: ["3q2+7w=="], timestamp: 1_700_000_000_000 } },
  },
  "remote-subscription-change": { type: "remote-subscription-change", senderId: client, targetId: relay, add: ["storage-a"], remove: [] },
}

for (const [name, message] of Object.entries(frames)) {
  writeFileSync(new URL(`${name}.cbor`, out), cbor.encode(message))
}
writeFileSync(new URL("document-id.txt", out), documentId + "\n")
console.log(`wrote ${Object.keys(frames).length} frames for document ${documentId}`)
