// A stock automerge-repo sync server, as automerge-repo-sync-server runs one: a Repo with the
// websocket server adapter, keeping documents in memory and announcing none of them (peers get
// what they ask for by id).
//
//   node server.mjs
//
// Listens on 127.0.0.1 on a free port and prints `listening on ws://127.0.0.1:PORT` as its
// first line. It stops on SIGTERM or SIGINT, and when its stdin closes (so that it never
// outlives the test that started it).
import { once } from "node:events"
import { WebSocketServer } from "ws"
import { Repo } from "@automerge/automerge-repo"
import { NodeWSServerAdapter } from "@automerge/automerge-repo-network-websocket"

const server = new WebSocketServer({ host: "127.0.0.1", port: 0 })
await once(server, "listening")
const repo = new Repo({ network: [new NodeWSServerAdapter(server)], sharePolicy: async () => false })
console.log(`listening on ws://127.0.0.1:${server.address().port}`)

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  // Bounded: a shutdown that hangs must not keep the port (or the test) waiting.
  setTimeout(() => process.exit(0), 2_000).unref()
  await repo.shutdown()
  server.close()
  process.exit(0)
}
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
process.stdin.on("end", stop).on("error", stop).resume()
