// A stock automerge-repo 2.5 client for the benchmark: pushes documents to a server, or fetches
// them from it, and says how long that took.
//
//   node client.mjs push  --url URL --docs DIR [--limit-seconds 600] [--concurrency K]
//   node client.mjs fetch --url URL --ids FILE [--limit-seconds 600] [--concurrency K]
//
// push   imports every DIR/<documentId>.automerge (the bytes of `Automerge.save()`) under its
//        own id and waits until the server holds each one.
// fetch  finds every id in FILE (one a line; `automerge:` URLs work too) and waits until each
//        is ready with content.
// At most K documents (default 100) are on their way at once: with thousands at once the
// stock stack stalls or drops the connection (see README.md).
//
// Each run is a fresh Repo: a websocket client adapter to URL and NodeFS storage in a fresh
// temporary directory (removed on exit), as a durable client would be. It prints one JSON line
// on stdout, `{"op":"push"|"fetch","docs":N,"done":M,"ms":T}`: N documents asked for, M of
// them done (fewer if --limit-seconds ran out first, or the server lacked some), T the
// milliseconds from the first import or find until the last one was done (or the limit).
// Connecting to the server comes before the clock starts and is not in T. Anything else goes
// to stderr; a failure (bad arguments, no connection within the limit) exits non-zero.
import { parseArgs } from "node:util"
import { rmSync } from "node:fs"
import { mkdtemp, readFile, readdir } from "node:fs/promises"
import os from "node:os"
import path from "node:path"
import { Repo, encodeHeads, isValidDocumentId } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const usage =
  "usage: node client.mjs push --url URL --docs DIR [--limit-seconds 600] [--concurrency K]\n" +
  "       node client.mjs fetch --url URL --ids FILE [--limit-seconds 600] [--concurrency K]"

function fail(message) {
  process.stderr.write(`client.mjs: ${message}\n`)
  process.exit(1)
}
// stdout carries the one JSON line the harness reads; automerge-repo logs some errors with
// console.log, so all console output goes to stderr.
console.log = (...items) => console.error(...items)

// Set once the result is out (see close).
let closing = false
// The websocket adapter throws some connection errors from its event handlers: they fail the
// run with their message. Once the result is out, a late error of the Repo (a save racing the
// shutdown) changes nothing about it, so it is reported but does not fail the run.
const failLoudly = error => {
  if (closing) process.stderr.write(`client.mjs: while closing: ${error?.message ?? error}\n`)
  else fail(error?.message ?? String(error))
}
process.on("uncaughtException", failLoudly)
process.on("unhandledRejection", failLoudly)

let args
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: "string" },
      docs: { type: "string" },
      ids: { type: "string" },
      "limit-seconds": { type: "string", default: "600" },
      concurrency: { type: "string" },
    },
  })
} catch (error) {
  fail(`${error.message}\n${usage}`)
}
const [op, ...extra] = args.positionals
const { url, docs: docsDir, ids: idsFile } = args.values
const limitMs = Number(args.values["limit-seconds"]) * 1000
// How many documents are on their way at once; see README.md for the defaults.
const defaults = { push: 100, fetch: 100 }
const concurrency =
  args.values.concurrency === undefined ? defaults[op] : Number(args.values.concurrency)
if (
  extra.length ||
  !url ||
  !(limitMs > 0) ||
  !(concurrency >= 1) ||
  !((op === "push" && docsDir && !idsFile) || (op === "fetch" && idsFile && !docsDir))
) {
  fail(usage)
}

// Reading the input is not part of what is measured, so it all happens before connecting.
const documents = op === "push" ? await readDocuments(docsDir) : await readIds(idsFile)

// The limit covers connecting as well: a server that never answers must not hang the harness.
const deadline = Date.now() + limitMs
const storageDir = await mkdtemp(path.join(os.tmpdir(), "rapport-bench-client-"))
// Removed on every way out (a result, a failure, a timeout), once no more JavaScript runs to
// write into it.
process.on("exit", () => {
  try {
    rmSync(storageDir, { recursive: true, force: true, maxRetries: 3 })
  } catch (error) {
    process.stderr.write(`client.mjs: leaving ${storageDir}: ${error.message}\n`)
  }
})
// Stopped from outside: exit at once (the exit removes the storage). A SIGKILL skips this, and
// leaves the directory behind: wait for the client to exit rather than kill it.
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(1))
const { repo, serverId } = await connect(url)

const result = op === "push" ? await push(documents) : await fetch(documents)
process.stdout.write(`${JSON.stringify({ op, docs: documents.length, ...result })}\n`)
await close(0)

// `[{ id, bytes }]` for every `<documentId>.automerge` in `dir`.
async function readDocuments(dir) {
  const names = (await readdir(dir)).filter(name => name.endsWith(".automerge")).sort()
  return Promise.all(
    names.map(async name => {
      const id = name.slice(0, -".automerge".length)
      if (!isValidDocumentId(id)) fail(`${name}: not named by an automerge-repo document id`)
      return { id, bytes: await readFile(path.join(dir, name)) }
    }),
  )
}

// The document ids in `file`, one a line; blank lines are skipped.
async function readIds(file) {
  const ids = (await readFile(file, "utf8"))
    .split("\n")
    .map(line => line.trim().replace(/^automerge:/, ""))
    .filter(Boolean)
  for (const id of ids) if (!isValidDocumentId(id)) fail(`${file}: not a document id: ${id}`)
  return ids
}

// A Repo connected to the server at `url`, once the server has answered the join (before that
// a find would ask no one), and the server's peer id.
async function connect(url) {
  const adapter = new WebSocketClientAdapter(url, 500)
  const joined = new Promise(resolve => adapter.once("peer-candidate", resolve))
  const repo = new Repo({ network: [adapter], storage: new NodeFSStorageAdapter(storageDir) })
  let timer
  const timeout = new Promise(resolve => {
    timer = setTimeout(resolve, deadline - Date.now())
  })
  const peer = await Promise.race([joined, timeout])
  clearTimeout(timer)
  if (!peer) {
    process.stderr.write(`client.mjs: no connection to ${url} within the limit\n`)
    await close(1, repo)
  }
  return { repo, serverId: peer.peerId }
}

// Resolves to true when `promise` does, or to false when the deadline passes first.
function beforeDeadline(promise) {
  let timer
  const expired = new Promise(resolve => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))
  })
  return Promise.race([promise.then(() => true), expired]).finally(() => clearTimeout(timer))
}

// Imports every document and waits until the server holds each one.
//
// How we know the server holds a document: the automerge sync protocol has every sync message
// carry its sender's heads, and the Repo records the server's latest ones for each document in
// the sync state it emits as "sync-state" events. Once the server's heads for a document equal
// ours, the server has applied every change we have (heads name the whole history). The server
// answers a sync message only after applying it, so this is a statement about the server, not
// about what we sent. The stock servers then write the document to their storage within their
// 100 ms save throttle; no message of the protocol confirms the write itself, so this is the
// closest the protocol lets a client get to "durably on the server".
//
// The alternatives were worse: fetching everything again through a second fresh Repo would add
// a whole fetch to the time measured, and the handle's "remote-heads" event is the same sync
// state keyed by the server's storage id, which a server may not announce.
async function push(documents) {
  const ours = new Map() // document id -> our heads, as sorted encoded strings
  let done = 0
  let next = 0
  let allDone
  const finished = new Promise(resolve => (allDone = resolve))
  const key = heads => [...heads].sort().join(",")
  // Imports the next document, if any is left: each one done makes room for the next, so at
  // most `concurrency` documents are on their way at any time.
  const importNext = () => {
    if (next >= documents.length) return
    const { id, bytes } = documents[next++]
    const handle = repo.import(bytes, { docId: id })
    ours.set(id, key(handle.heads()))
  }
  repo.synchronizer.on("sync-state", ({ peerId, documentId, syncState }) => {
    if (peerId !== serverId || !syncState.theirHeads || !ours.has(documentId)) return
    if (key(encodeHeads(syncState.theirHeads)) !== ours.get(documentId)) return
    ours.delete(documentId)
    if (++done === documents.length) allDone()
    else importNext()
  })

  const start = performance.now()
  // Every sync message comes back over the network, so no answer can arrive before an import
  // has recorded our heads.
  for (let i = 0; i < Math.min(concurrency, documents.length); i++) importNext()
  if (documents.length) await beforeDeadline(finished)
  return { done, ms: Math.round(performance.now() - start) }
}

// Finds every document, `concurrency` at a time, and waits until each is ready with content.
async function fetch(ids) {
  let done = 0
  let next = 0
  const one = async id => {
    try {
      // Resolves once the document is ready (from the server: our storage starts empty), and
      // rejects if the server says it does not have it.
      const handle = await repo.find(id)
      if (handle.heads().length) done++
      else process.stderr.write(`client.mjs: ${id} came back empty\n`)
    } catch (error) {
      process.stderr.write(`client.mjs: ${id}: ${error.message}\n`)
    }
  }
  const worker = async () => {
    while (next < ids.length) await one(ids[next++])
  }
  const start = performance.now()
  const workers = Array.from({ length: Math.min(concurrency, ids.length) }, worker)
  await beforeDeadline(Promise.all(workers))
  return { done, ms: Math.round(performance.now() - start) }
}

// Shuts the Repo down (bounded) and exits with `code`; the exit removes the temporary storage.
async function close(code, which = repo) {
  closing = true
  // Backstop: nothing below may keep the harness waiting.
  setTimeout(() => process.exit(code), 10_000).unref()
  // A Repo left with documents that never became ready (a limit hit, a lost connection) may
  // never finish shutting down; after 4 s we stop waiting for it.
  const gaveUp = new Promise(resolve => setTimeout(resolve, 4_000))
  await Promise.race([
    which?.shutdown().catch(error => {
      process.stderr.write(`client.mjs: while shutting down: ${error.message}\n`)
    }),
    gaveUp,
  ])
  // `shutdown` flushes documents but not the sync states, which the Repo saves up to 100 ms
  // (its throttle) later: let those land before their directory goes away.
  await new Promise(resolve => setTimeout(resolve, 300))
  process.exit(code)
}
