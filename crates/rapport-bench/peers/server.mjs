// A stock automerge-repo server for the benchmark to measure against.
//
//   node server.mjs --kind sync-server|repo --dir DIR [--port 0]
//
// --kind sync-server  the npm package @automerge/automerge-repo-sync-server 0.2.8 itself (its
//                     own Server class, with the automerge-repo 1.2 it depends on), storing in DIR.
// --kind repo         the same server written on automerge-repo 2.5: a Repo with the websocket
//                     server adapter and NodeFS storage in DIR, announcing no documents.
//
// Listens on 127.0.0.1 (port 0, the default, picks a free one) and prints exactly one line on
// stdout, `listening on ws://127.0.0.1:PORT`, once it accepts connections; anything else goes to
// stderr. It stops on SIGTERM or SIGINT, and when its stdin closes, so that it never outlives
// the harness that started it.
import { parseArgs } from "node:util"
import { once } from "node:events"
import { mkdirSync } from "node:fs"
import net from "node:net"
import os from "node:os"

const usage = "usage: node server.mjs --kind sync-server|repo --dir DIR [--port 0]"

function fail(message) {
  process.stderr.write(`server.mjs: ${message}\n`)
  process.exit(1)
}

let options
try {
  options = parseArgs({
    options: {
      kind: { type: "string" },
      dir: { type: "string" },
      port: { type: "string", default: "0" },
    },
  }).values
} catch (error) {
  fail(`${error.message}\n${usage}`)
}
const { kind, dir } = options
const port = Number(options.port)
if (!dir || !["sync-server", "repo"].includes(kind) || !Number.isInteger(port) || port < 0) {
  fail(usage)
}
// The stock server creates its directory without `recursive`, so a nested DIR must exist first.
mkdirSync(dir, { recursive: true })

// Both kinds set `stop`: it closes the server and resolves once what it holds is on disk.
const { boundPort, stop } = kind === "sync-server" ? await startSyncServer() : await startRepo()
process.stdout.write(`listening on ws://127.0.0.1:${boundPort}\n`)

async function startSyncServer() {
  // The stock server reads its configuration from the environment when it is constructed.
  process.env.PORT = String(port)
  process.env.DATA_DIR = dir

  // Its "Listening on port N" (and anything its Repo logs) must not come before our one line on
  // stdout, which the harness reads: its console output goes to stderr instead.
  console.log = (...args) => console.error(...args)

  // The stock server calls `app.listen(PORT)`, which binds every interface, and keeps its http
  // server private. For the constructor call only, `listen` is wrapped to bind 127.0.0.1 (all
  // traffic of the benchmark stays on loopback) and to keep the server, so that port 0 works
  // without a race between choosing a free port and binding it: we read the port it got.
  const listen = net.Server.prototype.listen
  let http
  net.Server.prototype.listen = function (...args) {
    http = this
    if (typeof args[0] === "number" && typeof args[1] !== "string") args.splice(1, 0, "127.0.0.1")
    return listen.apply(this, args)
  }
  // The package's bin (src/index.js) is just `new Server()`; importing the class instead lets
  // this process wait for `ready()` and close it on a signal. The package has no `exports` map,
  // so the file is importable by path.
  const { Server } = await import("@automerge/automerge-repo-sync-server/src/server.js")
  let server
  try {
    server = new Server()
  } finally {
    net.Server.prototype.listen = listen
  }
  // A port that is taken fails loudly rather than leaving `ready()` waiting forever.
  http.once("error", error => fail(`the sync server cannot listen: ${error.message}`))
  await server.ready()

  return {
    boundPort: http.address().port,
    async stop() {
      server.close()
      // Its Repo is private, so it cannot be flushed: it saves a changed document at most
      // 100 ms (its save throttle) after the change, so waiting a little longer lets the last
      // saves land before the process exits.
      await new Promise(resolve => setTimeout(resolve, 500))
    },
  }
}

async function startRepo() {
  const { WebSocketServer } = await import("ws")
  const { Repo } = await import("@automerge/automerge-repo")
  const { NodeWSServerAdapter } = await import("@automerge/automerge-repo-network-websocket")
  const { NodeFSStorageAdapter } = await import("@automerge/automerge-repo-storage-nodefs")

  const wss = new WebSocketServer({ host: "127.0.0.1", port })
  await Promise.race([
    once(wss, "listening"),
    once(wss, "error").then(([error]) => fail(`cannot listen: ${error.message}`)),
  ])
  const repo = new Repo({
    network: [new NodeWSServerAdapter(wss)],
    storage: new NodeFSStorageAdapter(dir),
    // As the stock server names itself.
    peerId: `storage-server-${os.hostname()}`,
    // As the stock server: announce nothing, so peers get only the documents they ask for by
    // id (or push to it). In 2.5 this sets `announce` only; access stays open to everyone.
    sharePolicy: async () => false,
  })
  return {
    boundPort: wss.address().port,
    async stop() {
      // Writes every document still waiting for its debounced save, then disconnects.
      await repo.shutdown()
      wss.close()
    },
  }
}

let stopping = false
async function shutdown() {
  if (stopping) return
  stopping = true
  // Bounded: a shutdown that hangs must not keep the port, or the harness, waiting.
  setTimeout(() => process.exit(0), 5_000).unref()
  try {
    await stop()
  } catch (error) {
    process.stderr.write(`server.mjs: while stopping: ${error.message}\n`)
  }
  process.exit(0)
}
process.on("SIGTERM", shutdown)
process.on("SIGINT", shutdown)
process.stdin.on("end", shutdown).on("error", shutdown).resume()
