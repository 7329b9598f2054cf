// The pieces of relay.mjs: failing loudly, bounded waits, a Repo connected to one websocket
// server, and Rapport's account layout (crates/rapport-model/src/schema.rs) as the stock
// JavaScript automerge-repo sees it: reading an account and writing a note.
import { Repo, ImmutableString, isImmutableString, encodeHeads } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"

// Every wait of these scripts ends within this many milliseconds.
export const TIMEOUT_MS = Number(process.env.INTEROP_TIMEOUT_MS ?? 30_000)

// Prints `message` on stderr and exits non-zero.
export function fail(message) {
  process.stderr.write(`${process.argv[1]}: ${message}\n`)
  process.exit(1)
}

// An error nothing caught (the websocket adapter throws a refused upgrade, such as a 401 for a
// bad token, from its event handler) fails with its message, not a stack trace.
process.on("uncaughtException", error => fail(error.message))
process.on("unhandledRejection", error => fail(error?.message ?? String(error)))

// Ends the process with an error if it is still running after TIMEOUT_MS; `what()` says what
// it was waiting for.
export function watchdog(what) {
  const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms ${what()}`), TIMEOUT_MS)
  return () => clearTimeout(timer)
}

// A Repo with one websocket client adapter to `url`, once the server has answered the join:
// `{ repo, adapter, peerId, peerMetadata }`. The server's peer metadata is what it said about
// itself (a Rapport relay adds `rapportIdentity`, who the token belongs to).
export async function connect(url) {
  const adapter = new WebSocketClientAdapter(url, 500)
  const peer = new Promise(resolve => adapter.once("peer-candidate", resolve))
  const repo = new Repo({ network: [adapter] })
  const { peerId, peerMetadata } = await peer
  return { repo, adapter, peerId, peerMetadata }
}

// Resolves once `peerId` has told us, in a sync message, that it holds exactly the heads of
// `handle` (the sync state is the only place the Repo keeps what a peer without storage id has).
export function untilPeerHas(repo, handle, peerId) {
  const same = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join()
  return new Promise(resolve => {
    const check = ({ peerId: from, documentId, syncState }) => {
      if (from !== peerId || documentId !== handle.documentId || !syncState.theirHeads) return
      if (same(encodeHeads(syncState.theirHeads), handle.heads())) {
        repo.synchronizer.off("sync-state", check)
        resolve()
      }
    }
    repo.synchronizer.on("sync-state", check)
  })
}

// How a value is stored, in the terms of schema.rs: scalar strings ("str") and text objects
// ("text") read differently in JavaScript, and the Rust model writes each where it means to.
export function storedAs(value) {
  if (isImmutableString(value)) return "str"
  if (typeof value === "string") return "text"
  if (value instanceof Date) return "timestamp"
  if (Array.isArray(value)) {
    const items = [...new Set(value.map(storedAs))]
    return items.length ? `list<${items.join("|")}>` : "list"
  }
  if (value === null) return "null"
  if (typeof value === "object") return "map"
  return typeof value
}

// A scalar string or text as a JavaScript string.
const plain = value => (value === undefined ? undefined : String(value))

// What an account document holds, for the tests: its name and its timeline in id order, each
// entry with its fields and how each field is stored.
export function readAccount(doc) {
  if (plain(doc.type) !== "account") fail(`not an account document: type is ${plain(doc.type)}`)
  const timeline = Object.entries(doc.timeline ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, entry]) => ({
      id,
      kind: plain(entry.kind),
      team: plain(entry.team),
      author: plain(entry.author),
      at: entry.at instanceof Date ? entry.at.toISOString() : entry.at,
      text: plain(entry.text),
      alert: Array.isArray(entry.alert) ? entry.alert.map(plain) : entry.alert,
      stored: Object.fromEntries(Object.entries(entry).map(([key, v]) => [key, storedAs(v)])),
    }))
  return { name: plain(doc.name), timeline }
}

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// A fresh ULID (26 Crockford base32 characters: 48 bits of milliseconds, 80 random bits), the
// kind of id the Rust model keys timeline entries by (crates/rapport-model/src/id.rs).
export function ulid(now = Date.now()) {
  let time = ""
  for (let rest = now, i = 0; i < 10; i++, rest = Math.floor(rest / 32)) {
    time = CROCKFORD[rest % 32] + time
  }
  let bits = 0n
  for (const byte of crypto.getRandomValues(new Uint8Array(10))) bits = (bits << 8n) | BigInt(byte)
  let random = ""
  for (let i = 0; i < 16; i++, bits >>= 5n) random = CROCKFORD[Number(bits & 31n)] + random
  return time + random
}

// Adds a note to the account's timeline inside `handle.change`, written as `add_entry` in
// crates/rapport-model/src/account.rs writes it: kind, team and author as scalar strings, `at`
// a timestamp, `text` an Automerge text, `alert` a list of targets ("sales" or "@user") as scalar
// strings. Returns the entry's id.
export function addNote(handle, { text, author, team, alert = [] }) {
  const id = ulid()
  handle.change(doc => {
    if (!doc.timeline) fail("the account has no timeline map")
    doc.timeline[id] = {
      kind: new ImmutableString("note"),
      team: new ImmutableString(team),
      author: new ImmutableString(author),
      at: new Date(),
      text,
      alert: alert.map(target => new ImmutableString(target)),
    }
  })
  return id
}
